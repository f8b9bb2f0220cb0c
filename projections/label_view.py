"""Labels and which artifacts carry them, with validity intervals for `at=`."""

import msgspec

from domain.label import ArtifactLabel, Label
from domain.project import Project
from projections.view import View, in_project
from projections.times import stamp

TABLES = ("labels", "artifact_labels")
VALID = "valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)"


class LabelRow(msgspec.Struct):
    id: int
    name: str
    description: str
    color: str
    scope: str
    project: str | None
    creation_time: str
    update_time: str


class LabelView(View):
    name = "label"
    tables = TABLES

    def __init__(self, prefix: str = "label_") -> None:
        super().__init__(prefix)
        self.handlers = {Label.Created: self._created, Label.Recreated: self._recreated,
                         Label.Updated: self._updated, Label.Deleted: self._deleted,
                         ArtifactLabel.Added: self._added, ArtifactLabel.AddedAgain: self._added,
                         ArtifactLabel.Removed: self._removed, Project.Deleted: self._project_deleted}

    def statements(self) -> list[str]:
        return [f"""CREATE TABLE IF NOT EXISTS {self.p}labels (
            stream TEXT PRIMARY KEY, id BIGINT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL,
            color TEXT NOT NULL, scope TEXT NOT NULL, project TEXT, created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL, deleted INTEGER NOT NULL)""",
                f"""CREATE TABLE IF NOT EXISTS {self.p}artifact_labels (
            repository TEXT NOT NULL, digest TEXT NOT NULL, label BIGINT NOT NULL,
            valid_from BIGINT NOT NULL, valid_to BIGINT, PRIMARY KEY (repository, digest, label, valid_from))"""]

    def _created(self, w, e, pos) -> set:
        w.execute(f"INSERT INTO {self.p}labels VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT DO NOTHING",
                  (str(e.originator_id), pos, e.name, e.description, e.color, e.scope, e.project,
                   stamp(e.timestamp), stamp(e.timestamp)))
        return set()

    def _recreated(self, w, e, pos) -> set:
        w.execute(f"UPDATE {self.p}labels SET id = ?, description = ?, color = ?, deleted = 0, created_at = ?, "
                  "updated_at = ? WHERE stream = ?", (pos, e.description, e.color, stamp(e.timestamp),
                                                     stamp(e.timestamp), str(e.originator_id)))
        return set()

    def _updated(self, w, e, pos) -> set:
        w.execute(f"UPDATE {self.p}labels SET description = ?, color = ?, updated_at = ? WHERE stream = ?",
                  (e.description, e.color, stamp(e.timestamp), str(e.originator_id)))
        return set()

    def _deleted(self, w, e, pos) -> set:
        label_id = w.execute(f"SELECT id FROM {self.p}labels WHERE stream = ?", (str(e.originator_id),))[0][0]
        w.execute(f"UPDATE {self.p}labels SET deleted = 1, updated_at = ? WHERE stream = ?",
                  (stamp(e.timestamp), str(e.originator_id)))
        w.execute(f"UPDATE {self.p}artifact_labels SET valid_to = ? WHERE label = ? AND valid_to IS NULL",
                  (pos, label_id))
        return set()

    def _project_deleted(self, w, e, pos) -> set:
        """A deleted project's labels, and labels on its artifacts, end with it."""
        w.execute(f"UPDATE {self.p}labels SET deleted = 1, updated_at = ? WHERE scope = 'p' AND project = ? "
                  "AND deleted = 0", (stamp(e.timestamp), e.name))
        inside, params = in_project("repository", e.name)
        w.execute(f"UPDATE {self.p}artifact_labels SET valid_to = ? WHERE {inside} AND valid_to IS NULL",
                  [pos, *params])
        return set()

    def _added(self, w, e, pos) -> set:
        w.execute(f"INSERT INTO {self.p}artifact_labels VALUES (?, ?, ?, ?, NULL)",
                  (e.repository, e.digest, e.label, pos))
        return set()

    def _removed(self, w, e, pos) -> set:
        w.execute(f"UPDATE {self.p}artifact_labels SET valid_to = ? WHERE repository = ? AND digest = ? "
                  "AND label = ? AND valid_to IS NULL", (pos, e.repository, e.digest, e.label))
        return set()


class LabelQueries:
    COLUMNS = "id, name, description, color, scope, project, created_at, updated_at"

    def __init__(self, db, prefix: str = "label_") -> None:
        self.db = db
        self.p = prefix

    def labels(self, scope: str | None, project: str | None, name: str | None) -> list[LabelRow]:
        clauses, params = ["deleted = 0"], []
        if scope:
            clauses.append("scope = ?")
            params.append(scope)
        if project is not None:
            clauses.append("project = ?")
            params.append(project)
        if name:
            clauses.append("name LIKE ?")
            params.append(f"%{name}%")
        rows = self.db.read(f"SELECT {self.COLUMNS} FROM {self.p}labels WHERE {' AND '.join(clauses)} "
                            "ORDER BY id", params)
        return [LabelRow(*row) for row in rows]

    def label(self, label_id: int) -> LabelRow | None:
        rows = self.db.read(f"SELECT {self.COLUMNS} FROM {self.p}labels WHERE id = ? AND deleted = 0",
                            (label_id,))
        return LabelRow(*rows[0]) if rows else None

    def of_artifacts(self, repository: str, digests: list[str], position: int | None) -> dict[str, list[LabelRow]]:
        if not digests:
            return {}
        valid, params = ("a.valid_to IS NULL", []) if position is None else \
            (VALID.replace("valid_", "a.valid_"), [position, position])
        marks = ", ".join("?" for _ in digests)
        rows = self.db.read(
            f"SELECT a.digest, l.id, l.name, l.description, l.color, l.scope, l.project, l.created_at, "
            f"l.updated_at FROM {self.p}artifact_labels a JOIN {self.p}labels l ON l.id = a.label "
            f"WHERE a.repository = ? AND a.digest IN ({marks}) AND {valid} ORDER BY l.id",
            [repository, *digests, *params])
        found: dict[str, list[LabelRow]] = {}
        for row in rows:
            found.setdefault(row[0], []).append(LabelRow(*row[1:]))
        return found
