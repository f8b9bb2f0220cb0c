"""History of garbage collection runs (Harbor's GC history shape)."""

from typing import Any

from domain.gc import GcRun
from domain.input_limits import is_decimal, parse_natural
from domain.gc_schedule import GcSchedule
from infra.store.sql import Writer
from projections.times import stamp


class GcView:
    name = "gc"
    tables = ("gc_runs", "gc_run_triggers", "gc_schedule")

    def __init__(self, prefix: str = "gc_") -> None:
        self.p = prefix

    def create(self, w: Writer) -> None:
        w.execute(f"""CREATE TABLE IF NOT EXISTS {self.p}gc_runs (
            id BIGINT PRIMARY KEY, run TEXT NOT NULL UNIQUE, dry_run INTEGER NOT NULL,
            delete_untagged INTEGER NOT NULL, status TEXT NOT NULL, blobs BIGINT NOT NULL,
            bytes BIGINT NOT NULL, unlinked BIGINT NOT NULL, reason TEXT NOT NULL,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""")
        # How a run was started (tables of their own, so views built before them need no
        # migration: a run without a row here was started by hand).
        w.execute(f"""CREATE TABLE IF NOT EXISTS {self.p}gc_run_triggers (
            run TEXT PRIMARY KEY, trigger_kind TEXT NOT NULL, scheduled_for TEXT)""")
        w.execute(f"""CREATE TABLE IF NOT EXISTS {self.p}gc_schedule (
            id INTEGER PRIMARY KEY, kind TEXT NOT NULL, cron TEXT NOT NULL, dry_run INTEGER NOT NULL,
            delete_untagged INTEGER NOT NULL, active INTEGER NOT NULL, created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL)""")

    def drop(self, w: Writer) -> None:
        for table in self.tables:
            w.execute(f"DROP TABLE IF EXISTS {self.p}{table}")

    def drop_indexes(self, w: Writer) -> None:
        pass

    def apply(self, w: Writer, e: Any, position: int) -> set:
        run, when = str(e.originator_id), stamp(e.timestamp)
        if isinstance(e, GcRun.Started):
            w.execute(f"INSERT INTO {self.p}gc_runs VALUES (?, ?, ?, ?, 'Running', 0, 0, 0, '', ?, ?) "
                      "ON CONFLICT DO NOTHING", (position, run, int(e.dry_run), int(e.delete_untagged), when, when))
            if e.trigger != "MANUAL":
                w.execute(f"INSERT INTO {self.p}gc_run_triggers VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                          (run, e.trigger, e.scheduled_for))
        elif isinstance(e, GcRun.Swept):
            w.execute(f"UPDATE {self.p}gc_runs SET blobs = blobs + ?, bytes = bytes + ?, updated_at = ? "
                      "WHERE run = ?", (len(e.digests), e.bytes, when, run))
        elif isinstance(e, GcRun.Finished):
            w.execute(f"UPDATE {self.p}gc_runs SET status = 'Success', blobs = ?, bytes = ?, unlinked = ?, "
                      "updated_at = ? WHERE run = ?", (e.blobs, e.bytes, e.unlinked, when, run))
        elif isinstance(e, GcRun.Stopped):
            w.execute(f"UPDATE {self.p}gc_runs SET status = 'Stopped', reason = ?, updated_at = ? "
                      "WHERE run = ?", (f"stopped on request of {e.requested_by}", when, run))
        elif isinstance(e, GcRun.Failed):
            w.execute(f"UPDATE {self.p}gc_runs SET status = 'Error', reason = ?, updated_at = ? WHERE run = ?",
                      (e.reason, when, run))
        elif isinstance(e, (GcSchedule.Set, GcSchedule.Changed)):
            w.execute(f"INSERT INTO {self.p}gc_schedule VALUES (1, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (id) "
                      "DO UPDATE SET kind = excluded.kind, cron = excluded.cron, dry_run = excluded.dry_run, "
                      "delete_untagged = excluded.delete_untagged, active = 1, updated_at = excluded.updated_at",
                      (e.kind, e.cron, int(e.dry_run), int(e.delete_untagged), when, when))
        elif isinstance(e, GcSchedule.Cleared):
            w.execute(f"UPDATE {self.p}gc_schedule SET active = 0, updated_at = ? WHERE id = 1", (when,))
        return set()


class GcQueries:
    COLUMNS = ("r.id, r.run, r.dry_run, r.delete_untagged, r.status, r.blobs, r.bytes, r.unlinked, "
               "r.reason, r.created_at, r.updated_at, COALESCE(t.trigger_kind, 'MANUAL'), t.scheduled_for")

    def __init__(self, db, prefix: str = "gc_") -> None:
        self.db = db
        self.p = prefix

    def runs(self, offset: int, limit: int) -> tuple[list[tuple], int]:
        total = self.db.read(f"SELECT COUNT(*) FROM {self.p}gc_runs")[0][0]
        rows = self.db.read(f"SELECT {self.COLUMNS} FROM {self._from} ORDER BY r.id DESC LIMIT ? OFFSET ?",
                            (limit, offset))
        return rows, total

    def run(self, key: str) -> tuple | None:
        by_id = is_decimal(key)
        rows = self.db.read(f"SELECT {self.COLUMNS} FROM {self._from} WHERE r.{'id' if by_id else 'run'} = ?",
                            (parse_natural(key, "gc_id") if by_id else key,))
        return rows[0] if rows else None

    @property
    def _from(self) -> str:
        return f"{self.p}gc_runs r LEFT JOIN {self.p}gc_run_triggers t ON t.run = r.run"

    def schedule(self) -> tuple | None:
        """(kind, cron, dry_run, delete_untagged, created_at, updated_at) while a schedule is set."""
        rows = self.db.read(f"SELECT kind, cron, dry_run, delete_untagged, created_at, updated_at "
                            f"FROM {self.p}gc_schedule WHERE id = 1 AND active = 1")
        return rows[0] if rows else None

    def last_scheduled(self) -> str | None:
        """The cron tick of the latest scheduled run."""
        return self.db.read(f"SELECT MAX(scheduled_for) FROM {self.p}gc_run_triggers "
                            "WHERE trigger_kind = 'SCHEDULE'")[0][0]

    def unfinished(self) -> list[str]:
        return [row[0] for row in self.db.read(f"SELECT run FROM {self.p}gc_runs WHERE status = 'Running'")]
