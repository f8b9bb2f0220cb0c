"""When each project was public or private: a row per period (log positions [from, to)), so
that history is shown to a caller as it was visible at that moment (domain/history_window.py).

A view of its own, so that a registry that had none builds it from the whole log at its first
start, like any new projection, instead of guessing the past.
"""

from typing import Any

from domain.project import Project
from infra.store.sql import Database, Writer
from projections.view import View


class ProjectPeriodView(View):
    name = "project_periods"
    tables = ("periods",)

    def __init__(self, prefix: str = "project_") -> None:
        super().__init__(prefix)
        self.handlers = {Project.Created: self._opened, Project.Recreated: self._opened,
                         Project.VisibilityChanged: self._opened, Project.Deleted: self._closed}

    def statements(self) -> list[str]:
        return [f"""CREATE TABLE IF NOT EXISTS {self.p}periods (
            project TEXT NOT NULL, public INTEGER NOT NULL, valid_from BIGINT NOT NULL,
            valid_to BIGINT, PRIMARY KEY (project, valid_from))"""]

    def _closed(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}periods SET valid_to = ? WHERE project = ? AND valid_to IS NULL",
                  (pos, e.name))
        return set()

    def _opened(self, w: Writer, e: Any, pos: int) -> set:
        self._closed(w, e, pos)
        w.execute(f"INSERT INTO {self.p}periods VALUES (?, ?, ?, NULL) ON CONFLICT DO NOTHING",
                  (e.name, int(e.public), pos))
        return set()


class ProjectPeriods:
    def __init__(self, db: Database, prefix: str = "project_") -> None:
        self.db = db
        self.p = prefix

    def public_since(self, project: str, since: int) -> tuple[tuple[int, int | None], ...]:
        """The periods from `since` on in which the project was public, oldest first."""
        rows = self.db.read(f"SELECT valid_from, valid_to FROM {self.p}periods WHERE project = ? "
                            "AND public = 1 AND (valid_to IS NULL OR valid_to > ?) ORDER BY valid_from",
                            (project, since))
        return tuple((start, end) for start, end in rows)
