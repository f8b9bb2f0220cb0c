"""Proxy-cache projects: which registry endpoint a project proxies, with the project's proxy
settings (`proxy_speed_kb`, `max_upstream_conn`, the allow-list, ...), one row per live project.

A view of its own, read on the OCI hot path (every manifest and blob read asks whether its
project is a proxy): one indexed row, kept in an in-process cache that the view's events
invalidate where this process sees every write (SQLite). Built from the whole log at its
first start, like any new projection.
"""

import json
from typing import Any

import msgspec

from domain.project import Project
from infra.store.sql import Database, Writer
from projections.cache import ViewCache
from projections.view import View

PROXY_KEYS = ("proxy_speed_kb", "max_upstream_conn", "proxy_cache_local_on_not_found",
              "proxy_referrer_api", "proxy_cache_filter_pattern", "proxy_cache_filter_kind")


class ProxyProject(msgspec.Struct, frozen=True):
    name: str
    registry_id: int
    settings: dict[str, str]  # the project's metadata keys of PROXY_KEYS that are set

    def number(self, key: str, default: int) -> int:
        value = self.settings.get(key)
        return int(value) if value not in (None, "") else default


class ProxyProjectView(View):
    name = "proxy_projects"
    tables = ("projects",)
    indexes = ("projects_registry",)

    def __init__(self, prefix: str = "proxy_") -> None:
        super().__init__(prefix)
        self.handlers = {Project.Created: self._created, Project.Recreated: self._created,
                         Project.ProxyCacheSet: self._proxied, Project.MetadataChanged: self._metadata,
                         Project.Deleted: self._deleted}

    def statements(self) -> list[str]:
        return [f"""CREATE TABLE IF NOT EXISTS {self.p}projects (
                    project TEXT PRIMARY KEY, registry_id BIGINT, settings TEXT NOT NULL)""",
                f"""CREATE INDEX IF NOT EXISTS {self.p}projects_registry
                    ON {self.p}projects (registry_id)"""]

    def _created(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"DELETE FROM {self.p}projects WHERE project = ?", (e.name,))
        w.execute(f"INSERT INTO {self.p}projects VALUES (?, NULL, '{{}}')", (e.name,))
        return {("proxy", e.name)}

    def _proxied(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}projects SET registry_id = ? WHERE project = ?", (e.registry_id, e.name))
        return {("proxy", e.name)}

    def _metadata(self, w: Writer, e: Any, pos: int) -> set:
        rows = w.execute(f"SELECT settings FROM {self.p}projects WHERE project = ?", (e.name,))
        if not rows:
            return set()
        settings = json.loads(rows[0][0])
        settings.update({k: v for k, v in e.changed.items() if k in PROXY_KEYS})
        for key in e.removed:
            settings.pop(key, None)
        w.execute(f"UPDATE {self.p}projects SET settings = ? WHERE project = ?",
                  (json.dumps(settings, sort_keys=True), e.name))
        return {("proxy", e.name)}

    def _deleted(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"DELETE FROM {self.p}projects WHERE project = ?", (e.name,))
        return {("proxy", e.name)}


class ProxyProjects:
    """Queries over the view; `cache` is shared with the projector's invalidations."""

    def __init__(self, db: Database, cache: ViewCache, prefix: str = "proxy_") -> None:
        self.db = db
        self.cache = cache
        self.p = prefix

    def cached(self, project: str):
        """The cached answer of `of(project)`, or projections.cache.MISS."""
        return self.cache.get(("proxy", project))

    def of(self, project: str) -> ProxyProject | None:
        """The project's proxy set-up, or None for an ordinary (or unknown) project."""
        def load():
            rows = self.db.read(f"SELECT registry_id, settings FROM {self.p}projects WHERE project = ?",
                                (project,))
            if not rows or rows[0][0] is None:
                return None
            return ProxyProject(project, int(rows[0][0]), json.loads(rows[0][1]))
        return self.cache.load(("proxy", project), load)

    def registry_ids(self, projects: list[str]) -> dict[str, int]:
        """The proxied registry of each of these projects that is a proxy cache (for lists)."""
        if not projects:
            return {}
        marks = ", ".join("?" for _ in projects)
        rows = self.db.read(f"SELECT project, registry_id FROM {self.p}projects WHERE registry_id IS NOT NULL "
                            f"AND project IN ({marks})", list(projects))
        return {name: int(registry_id) for name, registry_id in rows}

    def using(self, registry_id: int) -> list[str]:
        """The proxy-cache projects of a registry endpoint, by name."""
        rows = self.db.read(f"SELECT project FROM {self.p}projects WHERE registry_id = ? ORDER BY project",
                            (registry_id,))
        return [row[0] for row in rows]
