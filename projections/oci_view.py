"""The OCI query model: projects, repositories, blob links, manifests and tags.

Manifests and tags keep validity intervals (`valid_from`/`valid_to` are log
positions), so the current state is `valid_to IS NULL` and a past state is an
indexed query rather than a replay.
"""

import json
from datetime import datetime, timezone
from typing import Any

from domain.artifacts.blob_link import BlobLink
from domain.artifacts.manifest import Manifest
from domain.names import project_of
from domain.project import Project
from domain.artifacts.pulls import PullBatch
from domain.artifacts.repository_info import RepositoryInfo
from domain.artifacts.tag import Tag
from infra.store.sql import Writer
from projections.view import View, in_project
from projections.times import stamp

TABLES = ("projects", "repositories", "blob_links", "manifests", "tags", "event_times", "pulls",
          "repository_descriptions", "live_repositories")
INDEXES = ("manifests_subject", "tags_digest", "event_times_at", "live_repositories_project")


def schema(prefix: str) -> list[str]:
    p = prefix
    return [
        f"""CREATE TABLE IF NOT EXISTS {p}projects (
            name TEXT PRIMARY KEY, public INTEGER NOT NULL, created_at TEXT NOT NULL,
            created_by TEXT NOT NULL, position BIGINT NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS {p}repositories (
            name TEXT PRIMARY KEY, project TEXT NOT NULL, created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL, position BIGINT NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS {p}blob_links (
            repository TEXT NOT NULL, digest TEXT NOT NULL, size BIGINT NOT NULL,
            linked_at TEXT NOT NULL, PRIMARY KEY (repository, digest))""",
        f"""CREATE TABLE IF NOT EXISTS {p}manifests (
            repository TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL,
            size BIGINT NOT NULL, artifact_type TEXT, subject TEXT, annotations TEXT NOT NULL,
            blobs TEXT NOT NULL, children TEXT NOT NULL, pushed_at TEXT NOT NULL,
            pushed_by TEXT NOT NULL, valid_from BIGINT NOT NULL, valid_to BIGINT,
            PRIMARY KEY (repository, digest, valid_from))""",
        f"""CREATE INDEX IF NOT EXISTS {p}manifests_subject
            ON {p}manifests (repository, subject) WHERE subject IS NOT NULL""",
        f"""CREATE TABLE IF NOT EXISTS {p}tags (
            repository TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL,
            moved_at TEXT NOT NULL, moved_by TEXT NOT NULL, valid_from BIGINT NOT NULL,
            valid_to BIGINT, PRIMARY KEY (repository, tag, valid_from))""",
        f"""CREATE INDEX IF NOT EXISTS {p}tags_digest ON {p}tags (repository, digest)
            WHERE valid_to IS NULL""",
        f"""CREATE TABLE IF NOT EXISTS {p}event_times (
            position BIGINT PRIMARY KEY, at TEXT NOT NULL)""",
        f"CREATE INDEX IF NOT EXISTS {p}event_times_at ON {p}event_times (at)",
        f"""CREATE TABLE IF NOT EXISTS {p}pulls (
            repository TEXT NOT NULL, digest TEXT NOT NULL, last_pulled_at TEXT NOT NULL,
            pull_count BIGINT NOT NULL, PRIMARY KEY (repository, digest))""",
        # Repositories holding at least one artifact now (what Harbor lists and counts): a row
        # per repository, kept by pushes and deletes. Filled from `manifests` when empty, so
        # views built before it need no rebuild (a function of the same state, so a rebuild
        # gives the same rows).
        f"""CREATE TABLE IF NOT EXISTS {p}live_repositories (
            repository TEXT PRIMARY KEY, project TEXT NOT NULL)""",
        f"""CREATE INDEX IF NOT EXISTS {p}live_repositories_project
            ON {p}live_repositories (project)""",
        f"""INSERT INTO {p}live_repositories
            SELECT DISTINCT m.repository, r.project FROM {p}manifests m
            JOIN {p}repositories r ON r.name = m.repository
            WHERE m.valid_to IS NULL AND NOT EXISTS (SELECT 1 FROM {p}live_repositories)
            ON CONFLICT DO NOTHING""",
        # A table of its own (not a column of repositories), so existing deployments get it
        # by CREATE TABLE IF NOT EXISTS; intervals answer `at=`.
        f"""CREATE TABLE IF NOT EXISTS {p}repository_descriptions (
            repository TEXT NOT NULL, description TEXT NOT NULL, valid_from BIGINT NOT NULL,
            valid_to BIGINT, PRIMARY KEY (repository, valid_from))""",
    ]


_last_stamped: tuple[Any, str] = (None, "")


def _when(event: Any) -> str:
    """The event's time as the views store it; an event's handlers ask up to three times, so
    the last answer is kept (one tuple, replaced whole: safe across projector threads)."""
    global _last_stamped
    last = _last_stamped
    if last[0] is event:
        return last[1]
    text = stamp(event.timestamp)
    _last_stamped = (event, text)
    return text


class OciView(View):
    """Applies registry events to the OCI query model tables under one prefix."""

    name = "oci"
    tables = TABLES
    all_events = True  # every event's time goes into event_times

    indexes = INDEXES

    def __init__(self, prefix: str = "oci_") -> None:
        super().__init__(prefix)
        self.handlers = {
            Project.Created: self._project_created,
            Project.VisibilityChanged: self._visibility_changed,
            Project.Recreated: self._project_created,
            Project.Deleted: self._project_deleted,
            BlobLink.Linked: self._blob_linked,
            BlobLink.Relinked: self._blob_linked,
            BlobLink.Unlinked: self._blob_unlinked,
            Manifest.Pushed: self._manifest_pushed,
            Manifest.Repushed: self._manifest_pushed,
            Manifest.Deleted: self._manifest_deleted,
            Tag.Created: self._tag_moved,
            Tag.Moved: self._tag_moved,
            Tag.Removed: self._tag_removed,
            PullBatch.Recorded: self._pulled,
            RepositoryInfo.Described: self._described,
            RepositoryInfo.DescriptionChanged: self._described,
        }

    def statements(self) -> list[str]:
        return schema(self.p)

    def apply(self, w: Writer, event: Any, position: int) -> set[tuple[str, str]]:
        """Apply one event; return the cache keys it makes stale."""
        w.execute(f"INSERT INTO {self.p}event_times VALUES (?, ?) ON CONFLICT DO NOTHING",
                  (position, _when(event)))
        return super().apply(w, event, position)

    def _project_created(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"INSERT INTO {self.p}projects VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                  (e.name, int(e.public), _when(e), e.actor, pos))
        return {("project", e.name)}

    def _visibility_changed(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}projects SET public = ? WHERE name = ?", (int(e.public), e.name))
        return {("project", e.name)}

    def _project_deleted(self, w: Writer, e: Any, pos: int) -> set:
        """Nothing of a deleted project serves any more, whatever is created under its name
        later: its blob links and pull times go, its repository descriptions end (its
        manifests and tags ended before: a project is deleted once it holds no artifact)."""
        w.execute(f"DELETE FROM {self.p}projects WHERE name = ?", (e.name,))
        inside, params = in_project("repository", e.name)
        w.execute(f"DELETE FROM {self.p}blob_links WHERE {inside}", params)
        w.execute(f"DELETE FROM {self.p}pulls WHERE {inside}", params)
        w.execute(f"DELETE FROM {self.p}live_repositories WHERE project = ?", (e.name,))
        w.execute(f"UPDATE {self.p}repository_descriptions SET valid_to = ? WHERE {inside} "
                  "AND valid_to IS NULL", [pos, *params])
        return {("all",)}

    def _touch_repository(self, w: Writer, repository: str, when: str, pos: int) -> None:
        w.execute(
            f"INSERT INTO {self.p}repositories VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at",
            (repository, project_of(repository), when, when, pos),
        )

    def _blob_linked(self, w: Writer, e: Any, pos: int) -> set:
        self._touch_repository(w, e.repository, _when(e), pos)
        w.execute(f"INSERT INTO {self.p}blob_links VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                  (e.repository, e.digest, e.size, _when(e)))
        return {("blob", e.repository, e.digest), ("tags", e.repository)}

    def _blob_unlinked(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"DELETE FROM {self.p}blob_links WHERE repository = ? AND digest = ?",
                  (e.repository, e.digest))
        return {("blob", e.repository, e.digest)}

    def _manifest_pushed(self, w: Writer, e: Any, pos: int) -> set:
        self._touch_repository(w, e.repository, _when(e), pos)
        w.execute(
            f"INSERT INTO {self.p}manifests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
            (e.repository, e.digest, e.media_type, e.size, e.artifact_type, e.subject,
             json.dumps(e.annotations, sort_keys=True), json.dumps(e.blobs),
             json.dumps(e.manifests), _when(e), e.actor, pos),
        )
        w.execute(f"INSERT INTO {self.p}live_repositories VALUES (?, ?) ON CONFLICT DO NOTHING",
                  (e.repository, project_of(e.repository)))
        return {("manifest", e.repository, e.digest), ("tags", e.repository)}

    def _manifest_deleted(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}manifests SET valid_to = ? WHERE repository = ? AND digest = ? "
                  "AND valid_to IS NULL", (pos, e.repository, e.digest))
        w.execute(f"DELETE FROM {self.p}live_repositories WHERE repository = ? AND NOT EXISTS "
                  f"(SELECT 1 FROM {self.p}manifests WHERE repository = ? AND valid_to IS NULL)",
                  (e.repository, e.repository))
        return {("manifest", e.repository, e.digest)}

    def _close_tag(self, w: Writer, repository: str, tag: str, pos: int) -> None:
        w.execute(f"UPDATE {self.p}tags SET valid_to = ? WHERE repository = ? AND tag = ? "
                  "AND valid_to IS NULL", (pos, repository, tag))

    def _tag_moved(self, w: Writer, e: Any, pos: int) -> set:
        self._close_tag(w, e.repository, e.tag, pos)
        w.execute(f"INSERT INTO {self.p}tags VALUES (?, ?, ?, ?, ?, ?, NULL)",
                  (e.repository, e.tag, e.digest, _when(e), e.actor, pos))
        self._touch_repository(w, e.repository, _when(e), pos)
        return {("tag", e.repository, e.tag), ("tags", e.repository)}

    def _pulled(self, w: Writer, e: Any, pos: int) -> set:
        latest: dict[tuple[str, str], tuple[float, int]] = {}
        for pull in e.pulls:
            key = (pull["repository"], pull["digest"])
            at, count = latest.get(key, (0.0, 0))
            latest[key] = (max(at, pull["at"]), count + 1)
        w.executemany(
            f"INSERT INTO {self.p}pulls VALUES (?, ?, ?, ?) ON CONFLICT (repository, digest) DO UPDATE "
            f"SET last_pulled_at = excluded.last_pulled_at, pull_count = {self.p}pulls.pull_count + "
            "excluded.pull_count",
            [(repo, digest, stamp(datetime.fromtimestamp(at, timezone.utc)), count)
             for (repo, digest), (at, count) in latest.items()])
        return set()

    def _tag_removed(self, w: Writer, e: Any, pos: int) -> set:
        self._close_tag(w, e.repository, e.tag, pos)
        return {("tag", e.repository, e.tag), ("tags", e.repository)}

    def _described(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}repository_descriptions SET valid_to = ? WHERE repository = ? "
                  "AND valid_to IS NULL", (pos, e.repository))
        w.execute(f"INSERT INTO {self.p}repository_descriptions VALUES (?, ?, ?, NULL)",
                  (e.repository, e.description, pos))
        return set()
