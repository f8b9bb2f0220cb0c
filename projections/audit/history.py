"""Repositories, artifacts and tags as of any log position.

A row is valid at position P when `valid_from <= P` and it was not closed by
then (`valid_to IS NULL OR valid_to > P`): the past is an indexed query.
"""

import json
from datetime import datetime

import msgspec

from domain.errors import BadRequest
from domain.input_limits import is_decimal, saturating_natural
from infra.store.sql import Database
from projections.times import parse_instant, stamp

VALID = "valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)"


class ArtifactRow(msgspec.Struct, frozen=True):
    id: int
    repository: str
    digest: str
    media_type: str
    size: int
    artifact_type: str | None
    subject: str | None
    annotations: dict
    children: list[str]
    pushed_at: str
    pushed_by: str
    deleted_at_position: int | None


class TagRow(msgspec.Struct, frozen=True):
    id: int
    repository: str
    name: str
    digest: str
    moved_at: str
    moved_by: str
    until_position: int | None
    until: str | None


class RepositoryRow(msgspec.Struct, frozen=True):
    id: int
    name: str
    project: str
    created_at: str
    updated_at: str
    artifact_count: int
    description: str = ""


_ARTIFACT = ("valid_from, repository, digest, media_type, size, artifact_type, subject, annotations, "
             "children, pushed_at, pushed_by, valid_to")


def _artifact(row) -> ArtifactRow:
    return ArtifactRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7]),
                       json.loads(row[8]), row[9], row[10], row[11])


class HistoryQueries:
    def __init__(self, db: Database, prefix: str = "oci_") -> None:
        self.db = db
        self.p = prefix

    def head(self) -> int:
        rows = self.db.read(f"SELECT MAX(position) FROM {self.p}event_times")
        return rows[0][0] or 0

    def resolve_at(self, at: str | None, field: str = "at") -> int | None:
        """None for "now"; else the log position that `at` (a position or an RFC 3339 time) names.
        Errors name `field`, the parameter `at` came in (`at`, `from`, `to`, a header)."""
        if at is None or at == "":
            return None
        if is_decimal(at):
            position = saturating_natural(at)
            if position > self.head():
                raise BadRequest(f"{field} is beyond the newest event", {field: at[:64]})
            return position
        moment = parse_instant(at, field)
        if moment > datetime.now(moment.tzinfo):
            raise BadRequest(f"{field} is in the future", {field: at[:64]})
        rows = self.db.read(f"SELECT MAX(position) FROM {self.p}event_times WHERE at <= ?", (stamp(moment),))
        return rows[0][0] or 0  # before the first event: the empty registry

    def _point(self, position: int | None) -> tuple[str, list]:
        if position is None:
            return "valid_to IS NULL", []
        return VALID, [position, position]

    def repositories(self, project: str, offset: int, limit: int, name: str | None,
                     position: int | None) -> tuple[list[RepositoryRow], int]:
        clauses, params = ["r.project = ?"], [project]
        if name:
            clauses.append("r.name LIKE ?")
            params.append(f"%{name}%")
        return self.repositories_where(" AND ".join(clauses), params, offset, limit, position)

    def repositories_in(self, projects: list[str] | None, where: str, params: list, offset: int,
                        limit: int, order: str = "r.name") -> tuple[list[RepositoryRow], int]:
        """Current repositories of these projects (every project for None) matching `where`."""
        if projects is not None:
            marks = ", ".join("?" for _ in projects) or "NULL"
            where, params = f"r.project IN ({marks}) AND {where}", [*projects, *params]
        return self.repositories_where(where, params, offset, limit, None, order)

    def repositories_where(self, where: str, params: list, offset: int, limit: int,
                           position: int | None, order: str = "r.name") -> tuple[list[RepositoryRow], int]:
        valid, vparams = self._point(position)
        if position is not None:
            where, params = f"{where} AND r.position <= ?", [*params, position]
        # A repository is there while it holds an artifact: deleting its last one (or the
        # repository) takes it off the lists, as Harbor's repository delete does.
        live = valid.replace('valid_', 'm.valid_')
        if position is None:
            where = (f"{where} AND EXISTS (SELECT 1 FROM {self.p}live_repositories l "
                     "WHERE l.repository = r.name)")
        else:
            where = (f"{where} AND EXISTS (SELECT 1 FROM {self.p}manifests m "
                     f"WHERE m.repository = r.name AND {live})")
            params = [*params, *vparams]
        count = f"(SELECT COUNT(*) FROM {self.p}manifests m WHERE m.repository = r.name AND {live})"
        described = (f"COALESCE((SELECT d.description FROM {self.p}repository_descriptions d "
                     f"WHERE d.repository = r.name AND {valid.replace('valid_', 'd.valid_')}), '')")
        total = self.db.read(f"SELECT COUNT(*) FROM {self.p}repositories r WHERE {where}", params)[0][0]
        rows = self.db.read(
            f"SELECT r.position, r.name, r.project, r.created_at, r.updated_at, {count}, {described} "
            f"FROM {self.p}repositories r WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
            [*vparams, *vparams, *params, limit, offset])
        return [RepositoryRow(*row) for row in rows], total

    def repository(self, name: str, position: int | None) -> RepositoryRow | None:
        rows, _ = self.repositories_where("r.name = ?", [name], 0, 1, position)
        return rows[0] if rows else None

    def artifacts(self, repository: str, offset: int, limit: int,
                  position: int | None) -> tuple[list[ArtifactRow], int]:
        valid, vparams = self._point(position)
        where = f"repository = ? AND {valid}"
        total = self.db.read(f"SELECT COUNT(*) FROM {self.p}manifests WHERE {where}",
                             [repository, *vparams])[0][0]
        rows = self.db.read(f"SELECT {_ARTIFACT} FROM {self.p}manifests WHERE {where} "
                            "ORDER BY valid_from DESC LIMIT ? OFFSET ?",
                            [repository, *vparams, limit, offset])
        return [_artifact(r) for r in rows], total

    def artifact(self, repository: str, digest: str, position: int | None) -> ArtifactRow | None:
        valid, vparams = self._point(position)
        rows = self.db.read(f"SELECT {_ARTIFACT} FROM {self.p}manifests WHERE repository = ? "
                            f"AND digest = ? AND {valid}", [repository, digest, *vparams])
        return _artifact(rows[0]) if rows else None

    def last_version(self, repository: str, digest: str) -> ArtifactRow | None:
        """The newest row of an artifact, deleted or not (for undelete)."""
        rows = self.db.read(f"SELECT {_ARTIFACT} FROM {self.p}manifests WHERE repository = ? "
                            "AND digest = ? ORDER BY valid_from DESC LIMIT 1", (repository, digest))
        return _artifact(rows[0]) if rows else None

    def pull_times(self, repository: str) -> dict[str, str]:
        """Last pull time per digest in a repository."""
        return dict(self.db.read(f"SELECT digest, last_pulled_at FROM {self.p}pulls WHERE repository = ?",
                                 (repository,)))

    def _tags(self, where: str, params: list) -> list[TagRow]:
        rows = self.db.read(
            f"SELECT t.valid_from, t.repository, t.tag, t.digest, t.moved_at, t.moved_by, t.valid_to, "
            f"e.at FROM {self.p}tags t LEFT JOIN {self.p}event_times e ON e.position = t.valid_to "
            f"WHERE {where}", params)
        return [TagRow(*row) for row in rows]

    def tags(self, repository: str, digests: list[str] | None, position: int | None) -> list[TagRow]:
        valid, vparams = self._point(position)
        valid = valid.replace("valid_", "t.valid_")
        where, params = f"t.repository = ? AND {valid}", [repository, *vparams]
        if digests is not None:
            if not digests:
                return []
            where += f" AND t.digest IN ({', '.join('?' for _ in digests)})"
            params += digests
        return self._tags(where + " ORDER BY t.tag", params)

    def tag_history(self, repository: str, tag: str) -> list[TagRow]:
        """Every digest a tag pointed to, oldest first."""
        return self._tags("t.repository = ? AND t.tag = ? ORDER BY t.valid_from", [repository, tag])
