"""A project's trusted signing keys with validity intervals (log positions [from, to)), so
the keys a project trusted at any moment are an indexed query (`pull-decision?at=`).

The key set's version is the position of the last change to it at or before the moment asked
about (0: never had keys): the pull gates key their decision cache on it.
"""

from typing import Any

import msgspec

from domain.project import Project
from domain.signing.trusted_keys import TrustedKeys
from infra.store.sql import Database, Writer
from projections.times import stamp
from projections.view import View


class TrustedKeyRow(msgspec.Struct, frozen=True):
    project: str
    fingerprint: str
    name: str
    algorithm: str
    pem: str
    added_at: str
    added_by: str
    valid_from: int


class TrustedKeyView(View):
    name = "trusted_keys"
    tables = ("keys",)
    indexes = ("keys_open",)

    def __init__(self, prefix: str = "trust_") -> None:
        super().__init__(prefix)
        self.handlers = {TrustedKeys.KeyAdded: self._added, TrustedKeys.KeyRemoved: self._removed,
                         Project.Deleted: self._project_deleted}

    def statements(self) -> list[str]:
        return [f"""CREATE TABLE IF NOT EXISTS {self.p}keys (
            project TEXT NOT NULL, fingerprint TEXT NOT NULL, name TEXT NOT NULL,
            algorithm TEXT NOT NULL, pem TEXT NOT NULL, added_at TEXT NOT NULL, added_by TEXT NOT NULL,
            valid_from BIGINT NOT NULL, valid_to BIGINT, PRIMARY KEY (project, fingerprint, valid_from))""",
                f"CREATE INDEX IF NOT EXISTS {self.p}keys_open ON {self.p}keys (project, valid_to)"]

    def _added(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"INSERT INTO {self.p}keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING",
                  (e.project, e.fingerprint, e.name, e.algorithm, e.pem, stamp(e.timestamp), e.actor, pos))
        return set()

    def _removed(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}keys SET valid_to = ? WHERE project = ? AND fingerprint = ? "
                  "AND valid_to IS NULL", (pos, e.project, e.fingerprint))
        return set()

    def _project_deleted(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}keys SET valid_to = ? WHERE project = ? AND valid_to IS NULL",
                  (pos, e.name))
        return set()


_COLUMNS = "project, fingerprint, name, algorithm, pem, added_at, added_by, valid_from"


class TrustedKeyQueries:
    def __init__(self, db: Database, prefix: str = "trust_") -> None:
        self.db = db
        self.p = prefix

    def _live(self, position: int | None) -> tuple[str, list]:
        if position is None:
            return "valid_to IS NULL", []
        return "valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)", [position, position]

    def keys(self, project: str, position: int | None = None) -> list[TrustedKeyRow]:
        """The keys the project trusts now, or at a log position (oldest first)."""
        where, params = self._live(position)
        rows = self.db.read(f"SELECT {_COLUMNS} FROM {self.p}keys WHERE project = ? AND {where} "
                            "ORDER BY valid_from, fingerprint", [project, *params])
        return [TrustedKeyRow(*row) for row in rows]

    def key(self, project: str, fingerprint: str) -> TrustedKeyRow | None:
        rows = self.db.read(f"SELECT {_COLUMNS} FROM {self.p}keys WHERE project = ? AND fingerprint = ? "
                            "AND valid_to IS NULL", (project, fingerprint))
        return TrustedKeyRow(*rows[0]) if rows else None

    def version(self, project: str, position: int | None = None) -> int:
        """The position of the last change to the project's key set at or before `position`."""
        limit = position if position is not None else 2**62
        rows = self.db.read(
            f"SELECT MAX(CASE WHEN valid_from <= ? THEN valid_from ELSE 0 END), "
            f"MAX(CASE WHEN valid_to <= ? THEN valid_to ELSE 0 END) FROM {self.p}keys WHERE project = ?",
            (limit, limit, project))
        if not rows:
            return 0
        return max(rows[0][0] or 0, rows[0][1] or 0)
