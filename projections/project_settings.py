"""A project's metadata (`public` included) and CVE allowlist, with validity intervals (log
positions [from, to)): a row per change, so the project GET answers `at=` with an indexed query.

A view of its own, so that a registry that had none builds it from the whole log at its first
start, like any new projection.
"""

import json
from typing import Any

import msgspec

from domain.project import Project
from infra.store.sql import Database, Writer
from projections.times import stamp
from projections.view import View


class Settings(msgspec.Struct, frozen=True):
    metadata: dict[str, str]
    allowlist: dict | None  # {"items", "expires_at", "created", "updated"}; None: never set
    changed_at: str  # when the project or its settings last changed


class ProjectSettingsView(View):
    name = "project_settings"
    tables = ("settings",)

    def __init__(self, prefix: str = "project_") -> None:
        super().__init__(prefix)
        self.handlers = {Project.Created: self._created, Project.Recreated: self._created,
                         Project.VisibilityChanged: self._visibility, Project.MetadataChanged: self._metadata,
                         Project.CveAllowlistChanged: self._allowlist, Project.Deleted: self._deleted}

    def statements(self) -> list[str]:
        return [f"""CREATE TABLE IF NOT EXISTS {self.p}settings (
            project TEXT NOT NULL, metadata TEXT NOT NULL, allowlist TEXT, changed_at TEXT NOT NULL,
            valid_from BIGINT NOT NULL, valid_to BIGINT, PRIMARY KEY (project, valid_from))"""]

    def _current(self, w: Writer, project: str) -> tuple[dict, dict | None]:
        rows = w.execute(f"SELECT metadata, allowlist FROM {self.p}settings WHERE project = ? "
                         "AND valid_to IS NULL", (project,))
        if not rows:
            return {}, None
        return json.loads(rows[0][0]), json.loads(rows[0][1]) if rows[0][1] else None

    def _deleted(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}settings SET valid_to = ? WHERE project = ? AND valid_to IS NULL",
                  (pos, e.name))
        return set()

    def _open(self, w: Writer, e: Any, pos: int, metadata: dict, allowlist: dict | None) -> set:
        self._deleted(w, e, pos)
        w.execute(f"INSERT INTO {self.p}settings VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING",
                  (e.name, json.dumps(metadata, sort_keys=True),
                   json.dumps(allowlist, sort_keys=True) if allowlist is not None else None,
                   stamp(e.timestamp), pos))
        return set()

    def _created(self, w: Writer, e: Any, pos: int) -> set:
        return self._open(w, e, pos, {"public": "true" if e.public else "false"}, None)

    def _visibility(self, w: Writer, e: Any, pos: int) -> set:
        metadata, allowlist = self._current(w, e.name)
        return self._open(w, e, pos, {**metadata, "public": "true" if e.public else "false"}, allowlist)

    def _metadata(self, w: Writer, e: Any, pos: int) -> set:
        metadata, allowlist = self._current(w, e.name)
        metadata.update(e.changed)
        for key in e.removed:
            metadata.pop(key, None)
        return self._open(w, e, pos, metadata, allowlist)

    def _allowlist(self, w: Writer, e: Any, pos: int) -> set:
        metadata, allowlist = self._current(w, e.name)
        now = stamp(e.timestamp)
        return self._open(w, e, pos, metadata, {"items": list(e.items), "expires_at": e.expires_at,
                                                "created": (allowlist or {}).get("created", now),
                                                "updated": now})


class ProjectSettings:
    def __init__(self, db: Database, prefix: str = "project_") -> None:
        self.db = db
        self.p = prefix

    def of(self, project: str, position: int | None = None) -> Settings | None:
        """The project's settings now, or at a log position (None if it did not exist then)."""
        if position is None:
            rows = self.db.read(f"SELECT metadata, allowlist, changed_at FROM {self.p}settings "
                                "WHERE project = ? AND valid_to IS NULL", (project,))
        else:
            rows = self.db.read(f"SELECT metadata, allowlist, changed_at FROM {self.p}settings "
                                "WHERE project = ? AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)",
                                (project, position, position))
        if not rows:
            return None
        metadata, allowlist, changed_at = rows[0]
        return Settings(json.loads(metadata), json.loads(allowlist) if allowlist else None, changed_at)

    def all_now(self, projects: list[str]) -> dict[str, Settings]:
        """The current settings of several projects at once (for lists)."""
        if not projects:
            return {}
        marks = ", ".join("?" for _ in projects)
        rows = self.db.read(f"SELECT project, metadata, allowlist, changed_at FROM {self.p}settings "
                            f"WHERE valid_to IS NULL AND project IN ({marks})", list(projects))
        return {name: Settings(json.loads(m), json.loads(a) if a else None, at) for name, m, a, at in rows}
