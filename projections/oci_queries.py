"""Queries over the OCI query model, as the read API asks them.

Each lookup the hot path makes (project, tag, manifest, blob link) has a cache
key that the OCI view names when an event changes it.
"""

import json

import msgspec

from domain.input_limits import is_decimal, parse_natural
from infra.store.sql import Database
from projections.cache import MISS, ViewCache


class ManifestRow(msgspec.Struct, frozen=True):
    repository: str
    digest: str
    media_type: str
    size: int
    artifact_type: str | None
    subject: str | None
    annotations: dict[str, str]


class ProjectRow(msgspec.Struct, frozen=True):
    name: str
    public: bool
    project_id: int = 0  # this incarnation's id (a project made again under the name has another)


class ProjectDetail(msgspec.Struct, frozen=True):
    project_id: int
    name: str
    public: bool
    created_at: str
    created_by: str
    repo_count: int


class OciQueries:
    def __init__(self, db: Database, prefix: str = "oci_", cache: ViewCache | None = None) -> None:
        self.db = db
        self.p = prefix
        self.cache = cache or ViewCache()

    def cached(self, key: tuple):
        """The cached answer for a lookup key, or MISS."""
        return self.cache.get(key)

    def project(self, name: str) -> ProjectRow | None:
        def load():
            rows = self.db.read(f"SELECT name, public, position FROM {self.p}projects WHERE name = ?", (name,))
            return ProjectRow(rows[0][0], bool(rows[0][1]), rows[0][2]) if rows else None
        return self.cache.load(("project", name), load)

    _DETAIL = ("SELECT p.position, p.name, p.public, p.created_at, p.created_by, "
               "(SELECT COUNT(*) FROM {p}live_repositories r WHERE r.project = p.name) "
               "FROM {p}projects p")

    def project_by_key(self, key: str, is_name: bool | None = None) -> ProjectDetail | None:
        """A project by name, or by id when the key is all digits (unless told it is a name)."""
        by_id = is_decimal(key) if is_name is None else not is_name
        if by_id and not is_decimal(key):
            return None  # ids are ASCII digits (`²`.isdigit() is true, yet int() refuses it)
        sql = self._DETAIL.format(p=self.p) + (" WHERE p.position = ?" if by_id else " WHERE p.name = ?")
        rows = self.db.read(sql, (parse_natural(key, "project_id") if by_id else key,))
        return ProjectDetail(*rows[0][:2], bool(rows[0][2]), *rows[0][3:]) if rows else None

    def projects(self, offset: int, limit: int, visible_to: list[str] | None,
                 name: str | None = None, public: bool | None = None) -> tuple[list[ProjectDetail], int]:
        """Projects, optionally only public ones plus those named in `visible_to`."""
        clauses, params = [], []
        if visible_to is not None:
            marks = ", ".join("?" for _ in visible_to) or "NULL"
            clauses.append(f"(p.public = 1 OR p.name IN ({marks}))")
            params.extend(visible_to)
        if name:
            clauses.append("p.name LIKE ?")
            params.append(f"%{name}%")
        if public is not None:
            clauses.append("p.public = ?")
            params.append(int(public))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        total = self.db.read(f"SELECT COUNT(*) FROM {self.p}projects p{where}", params)[0][0]
        rows = self.db.read(self._DETAIL.format(p=self.p) + where + " ORDER BY p.name LIMIT ? OFFSET ?",
                            [*params, limit, offset])
        return [ProjectDetail(*r[:2], bool(r[2]), *r[3:]) for r in rows], total

    def tag(self, repository: str, tag: str) -> str | None:
        def load():
            rows = self.db.read(f"SELECT digest FROM {self.p}tags WHERE repository = ? AND tag = ? "
                                "AND valid_to IS NULL", (repository, tag))
            return rows[0][0] if rows else None
        return self.cache.load(("tag", repository, tag), load)

    def tag_at(self, repository: str, tag: str, position: int) -> str | None:
        rows = self.db.read(
            f"SELECT digest FROM {self.p}tags WHERE repository = ? AND tag = ? AND valid_from <= ? "
            "AND (valid_to IS NULL OR valid_to > ?)", (repository, tag, position, position))
        return rows[0][0] if rows else None

    def manifest(self, repository: str, digest: str) -> ManifestRow | None:
        def load():
            rows = self.db.read(
                f"SELECT repository, digest, media_type, size, artifact_type, subject, annotations "
                f"FROM {self.p}manifests WHERE repository = ? AND digest = ? AND valid_to IS NULL",
                (repository, digest))
            if not rows:
                return None
            row = rows[0]
            return ManifestRow(*row[:6], annotations=json.loads(row[6]))
        return self.cache.load(("manifest", repository, digest), load)

    def blob_size(self, repository: str, digest: str) -> int | None:
        def load():
            rows = self.db.read(f"SELECT size FROM {self.p}blob_links WHERE repository = ? "
                                "AND digest = ?", (repository, digest))
            return rows[0][0] if rows else None
        return self.cache.load(("blob", repository, digest), load)

    def tags(self, repository: str, limit: int | None, last: str | None) -> list[str]:
        sql = f"SELECT tag FROM {self.p}tags WHERE repository = ? AND valid_to IS NULL"
        params: list = [repository]
        if last:
            sql += " AND tag > ?"
            params.append(last)
        sql += " ORDER BY tag"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [row[0] for row in self.db.read(sql, params)]

    def tag_list(self, repository: str) -> list[str] | None:
        """All current tags of a repository in order, or None if the repository is unknown."""
        def load():
            tags = self.tags(repository, None, None)
            return tags if tags or self.repository_exists(repository) else None
        return self.cache.load(("tags", repository), load)

    def tags_of(self, repository: str, digest: str) -> list[str]:
        rows = self.db.read(f"SELECT tag FROM {self.p}tags WHERE repository = ? AND digest = ? "
                            "AND valid_to IS NULL", (repository, digest))
        return [row[0] for row in rows]

    def repository_exists(self, repository: str) -> bool:
        return bool(self.db.read(f"SELECT 1 FROM {self.p}repositories WHERE name = ?", (repository,)))

    def project_starts(self) -> list[tuple[str, bool, int]]:
        """Every project with its visibility and the position it was created (again) at."""
        return [(name, bool(public), position) for name, public, position in
                self.db.read(f"SELECT name, public, position FROM {self.p}projects")]

    def all_projects(self) -> list[tuple[str, bool]]:
        return [(name, bool(public)) for name, public in
                self.db.read(f"SELECT name, public FROM {self.p}projects")]

    def repositories(self, limit: int | None, last: str | None,
                     projects: set[str] | None = None) -> list[str]:
        sql = f"SELECT name FROM {self.p}repositories WHERE 1 = 1"
        params: list = []
        if projects is not None:
            sql += f" AND project IN ({', '.join('?' for _ in projects) or 'NULL'})"
            params.extend(sorted(projects))
        if last:
            sql += " AND name > ?"
            params.append(last)
        sql += " ORDER BY name"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [row[0] for row in self.db.read(sql, params)]

    def dependents(self, repository: str, digest: str) -> dict[str, list[str]]:
        """What goes with an artifact when it is deleted, as Harbor has it, with each one's
        tags: its accessories (referrers, and theirs in turn) and the manifests of an index
        that no tag names and no other live manifest of the repository references."""
        p = self.p
        found: dict[str, list[str]] = {}
        pending = [digest]
        while pending:
            current = pending.pop()
            for row in self.referrers(repository, current):
                if row.digest != digest and row.digest not in found:
                    found[row.digest] = self.tags_of(repository, row.digest)
                    pending.append(row.digest)
            rows = self.db.read(f"SELECT children FROM {p}manifests WHERE repository = ? AND digest = ? "
                                "AND valid_to IS NULL", (repository, current))
            for child in json.loads(rows[0][0]) if rows else []:
                if child == digest or child in found or self.tags_of(repository, child):
                    continue
                parents = {row[0] for row in self.db.read(
                    f"SELECT digest FROM {p}manifests WHERE repository = ? AND valid_to IS NULL "
                    "AND children LIKE ?", (repository, f'%"{child}"%'))}
                if parents <= {digest, *found} and self.manifest(repository, child) is not None:
                    found[child] = []
                    pending.append(child)
        return found

    def referrers(self, repository: str, subject: str) -> list[ManifestRow]:
        rows = self.db.read(
            f"SELECT repository, digest, media_type, size, artifact_type, subject, annotations "
            f"FROM {self.p}manifests WHERE repository = ? AND subject = ? AND valid_to IS NULL "
            "ORDER BY digest", (repository, subject))
        return [ManifestRow(*row[:6], annotations=json.loads(row[6])) for row in rows]


__all__ = ["OciQueries", "ManifestRow", "ProjectRow", "MISS"]
