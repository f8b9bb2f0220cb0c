"""History of garbage collection runs (Harbor's GC history shape)."""

from typing import Any

from domain.gc import GcRun
from infra.sql import Writer
from projections.times import stamp


class GcView:
    name = "gc"
    tables = ("gc_runs",)

    def __init__(self, prefix: str = "gc_") -> None:
        self.p = prefix

    def create(self, w: Writer) -> None:
        w.execute(f"""CREATE TABLE IF NOT EXISTS {self.p}gc_runs (
            id BIGINT PRIMARY KEY, run TEXT NOT NULL UNIQUE, dry_run INTEGER NOT NULL,
            delete_untagged INTEGER NOT NULL, status TEXT NOT NULL, blobs BIGINT NOT NULL,
            bytes BIGINT NOT NULL, unlinked BIGINT NOT NULL, reason TEXT NOT NULL,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""")

    def drop(self, w: Writer) -> None:
        w.execute(f"DROP TABLE IF EXISTS {self.p}gc_runs")

    def drop_indexes(self, w: Writer) -> None:
        pass

    def apply(self, w: Writer, e: Any, position: int) -> set:
        run, when = str(e.originator_id), stamp(e.timestamp)
        if isinstance(e, GcRun.Started):
            w.execute(f"INSERT INTO {self.p}gc_runs VALUES (?, ?, ?, ?, 'Running', 0, 0, 0, '', ?, ?) "
                      "ON CONFLICT DO NOTHING", (position, run, int(e.dry_run), int(e.delete_untagged), when, when))
        elif isinstance(e, GcRun.Swept):
            w.execute(f"UPDATE {self.p}gc_runs SET blobs = blobs + ?, bytes = bytes + ?, updated_at = ? "
                      "WHERE run = ?", (len(e.digests), e.bytes, when, run))
        elif isinstance(e, GcRun.Finished):
            w.execute(f"UPDATE {self.p}gc_runs SET status = 'Success', blobs = ?, bytes = ?, unlinked = ?, "
                      "updated_at = ? WHERE run = ?", (e.blobs, e.bytes, e.unlinked, when, run))
        elif isinstance(e, GcRun.Failed):
            w.execute(f"UPDATE {self.p}gc_runs SET status = 'Error', reason = ?, updated_at = ? WHERE run = ?",
                      (e.reason, when, run))
        return set()


class GcQueries:
    COLUMNS = "id, run, dry_run, delete_untagged, status, blobs, bytes, unlinked, reason, created_at, updated_at"

    def __init__(self, db, prefix: str = "gc_") -> None:
        self.db = db
        self.p = prefix

    def runs(self, offset: int, limit: int) -> tuple[list[tuple], int]:
        total = self.db.read(f"SELECT COUNT(*) FROM {self.p}gc_runs")[0][0]
        rows = self.db.read(f"SELECT {self.COLUMNS} FROM {self.p}gc_runs ORDER BY id DESC LIMIT ? OFFSET ?",
                            (limit, offset))
        return rows, total

    def run(self, key: str) -> tuple | None:
        column = "id" if key.isdigit() else "run"
        rows = self.db.read(f"SELECT {self.COLUMNS} FROM {self.p}gc_runs WHERE {column} = ?",
                            (int(key) if key.isdigit() else key,))
        return rows[0] if rows else None

    def unfinished(self) -> list[str]:
        return [row[0] for row in self.db.read(f"SELECT run FROM {self.p}gc_runs WHERE status = 'Running'")]
