"""Garbage collection: mark what any manifest still references, unlink and sweep the rest.

Safe while pushes go on (see infra/store/gc_lock.py and docs/adr/0010): every
removal happens in a short exclusive batch that first catches the query
models up and checks again that nothing references what it removes.
Blobs touched within the grace period, and blobs that history still needs
(artifacts deleted within the history window, for undelete and restore), are
kept. An interrupted run changes nothing it had not finished; the next run
starts over from a fresh mark.
"""

import json
import time
from datetime import datetime, timezone
from typing import Callable

import structlog

from commands.artifacts.messages import DeleteManifest, UnlinkBlob
from domain.base import Actor
from domain.errors import BlobUnknown, ManifestUnknown
from domain.gc import GcRun, gc_stop_id
from projections.times import stamp

log = structlog.get_logger("gc")
BATCH = 500


class StopRequested(Exception):
    """Someone asked the run to stop (PUT /system/gc/{id}); raised between batches."""

    def __init__(self, by: str) -> None:
        super().__init__(f"stopped on request of {by}")
        self.by = by


class GarbageCollector:
    def __init__(self, registry, grace_seconds: int, history_window_seconds: int) -> None:
        self.registry = registry
        self.grace = grace_seconds
        self.window = history_window_seconds
        self.progress: dict = {}
        self._run_id = None

    # -- marking -----------------------------------------------------------------------

    def _kept_rows(self, repository: str | None = None) -> list[tuple]:
        """Manifests alive now, or deleted within the history window."""
        db, p = self.registry.db, "oci_"
        cutoff = stamp(datetime.fromtimestamp(time.time() - self.window, timezone.utc))
        since = db.read(f"SELECT MIN(position) FROM {p}event_times WHERE at >= ?", (cutoff,))[0][0]
        where = "(valid_to IS NULL OR valid_to >= ?)"
        params: list = [since if since is not None else 1 << 62]
        if repository is not None:
            where += " AND repository = ?"
            params.append(repository)
        return db.read(f"SELECT repository, digest, blobs, children FROM {p}manifests WHERE {where}", params)

    def mark(self, repository: str | None = None) -> dict[str, set[str]]:
        """Per repository, every digest still referenced (manifests, their blobs and children)."""
        marked: dict[str, set[str]] = {}
        for repo, digest, blobs, children in self._kept_rows(repository):
            kept = marked.setdefault(repo, set())
            kept.add(digest)
            kept.update(json.loads(blobs))
            kept.update(json.loads(children))
        return marked

    # -- the run --------------------------------------------------------------------------

    def run(self, dry_run: bool = False, delete_untagged: bool = False,
            report: Callable[[dict], None] = lambda progress: None,
            scheduled_for: str | None = None,
            on_recorded: Callable[[str], None] = lambda run_id: None) -> str:
        """Collect; `on_recorded` is told the run's id once the run is recorded."""
        registry = self.registry
        run = GcRun.start(dry_run, delete_untagged, self.grace, self.window, Actor(name="gc"),
                          scheduled_for=scheduled_for)
        actor = Actor(name="gc", request_id=str(run.id))
        registry.app.save(run)
        on_recorded(str(run.id))
        started = time.time()
        self.progress = {"id": str(run.id), "phase": "mark", "done": 0, "total": 0}
        self._run_id = run.id
        try:
            untagged = self._delete_untagged(actor) if delete_untagged and not dry_run else 0
            registry.catch_up()
            unlinked = self._unlink(started, dry_run, actor, report)
            freed_blobs, freed_bytes = self._sweep(run, started, dry_run, actor, report)
            if dry_run:
                run.swept, run.freed = freed_blobs, freed_bytes
            run.finish(unlinked, untagged, actor)
            registry.app.save(run)
        except StopRequested as stop:
            run.stop(stop.by, actor)
            registry.app.save(run)
            log.info("garbage collection stopped on request", run=str(run.id), by=stop.by,
                     blobs=run.swept, bytes=run.freed)
            return str(run.id)
        except Exception as error:
            run.fail(f"{type(error).__name__}: {error}", actor)
            registry.app.save(run)
            log.exception("garbage collection failed", run=str(run.id))
            raise
        finally:
            self.progress = {**self.progress, "phase": "done"}
            registry.catch_up()
        log.info("garbage collection finished", run=str(run.id), dry_run=dry_run,
                 blobs=run.swept, bytes=run.freed, unlinked=unlinked)
        return str(run.id)

    def _check_stop(self) -> None:
        """Raise StopRequested if a stop of this run was asked for (from any process)."""
        for event in self.registry.app.events.get(gc_stop_id(self._run_id)):
            raise StopRequested(event.actor)

    def _delete_untagged(self, actor: Actor) -> int:
        db = self.registry.db
        rows = db.read(
            "SELECT m.repository, m.digest FROM oci_manifests m WHERE m.valid_to IS NULL AND m.subject IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM oci_tags t WHERE t.repository = m.repository "
            "AND t.digest = m.digest AND t.valid_to IS NULL)")
        children = {(r, c) for r, _d, _b, kids in self._kept_rows() for c in json.loads(kids)}
        deleted = 0
        for repository, digest in rows:
            self._check_stop()
            if (repository, digest) in children:
                continue  # part of an index that is still there
            try:
                self.registry.commands.delete_manifest(DeleteManifest(
                    repository, digest, [], actor, cause={"gc_run": actor.request_id, "reason": "untagged"}))
                deleted += 1
            except ManifestUnknown:
                continue
        return deleted

    def _unlink(self, started: float, dry_run: bool, actor: Actor, report) -> int:
        cutoff = stamp(datetime.fromtimestamp(started - self.grace, timezone.utc))
        marked = self.mark()
        links = self.registry.db.read("SELECT repository, digest FROM oci_blob_links WHERE linked_at < ?",
                                      (cutoff,))
        candidates = [(r, d) for r, d in links if d not in marked.get(r, set())]
        self.progress.update(phase="unlink", done=0, total=len(candidates))
        if dry_run:
            return len(candidates)
        unlinked = 0
        for start in range(0, len(candidates), BATCH):
            batch = candidates[start:start + BATCH]
            self._check_stop()
            with self.registry.gc_lock.exclusive():
                self.registry.catch_up()
                for repository in {r for r, _ in batch}:
                    marked.update(self.mark(repository))
                for repository, digest in batch:
                    if digest in marked.get(repository, set()):
                        continue
                    try:
                        self.registry.commands.unlink_blob(UnlinkBlob(repository, digest, actor))
                        unlinked += 1
                    except BlobUnknown:
                        continue
            self.progress["done"] = start + len(batch)
            report(self.progress)
        self.registry.catch_up()
        return unlinked

    def _sweep(self, run: GcRun, started: float, dry_run: bool, actor: Actor, report) -> tuple[int, int]:
        db = self.registry.db
        linked = {row[0] for row in db.read("SELECT DISTINCT digest FROM oci_blob_links")}
        kept = set().union(*self.mark().values()) if not dry_run else set()
        if dry_run:  # a dry run unlinked nothing: count what the unlink phase would free
            kept = set().union(*self.mark().values())
            linked = {d for r, d in db.read("SELECT repository, digest FROM oci_blob_links")
                      if d in kept}
        stored = list(self.registry.blobs.list_blobs())
        candidates = [(d, size) for d, size, modified in stored
                      if d not in linked and d not in kept and modified < started - self.grace]
        self.progress.update(phase="sweep", done=0, total=len(candidates))
        blobs = freed = 0
        for start in range(0, len(candidates), BATCH):
            batch = candidates[start:start + BATCH]
            self._check_stop()
            if dry_run:
                blobs += len(batch)
                freed += sum(size for _, size in batch)
            else:
                with self.registry.gc_lock.exclusive():
                    self.registry.catch_up()
                    digests = [d for d, _ in batch]
                    marks = ", ".join("?" for _ in digests)
                    still = {row[0] for row in db.read(
                        f"SELECT digest FROM oci_blob_links WHERE digest IN ({marks}) UNION "
                        f"SELECT digest FROM oci_manifests WHERE valid_to IS NULL AND digest IN ({marks})",
                        [*digests, *digests])}
                    swept = [(d, size) for d, size in batch if d not in still]
                    for digest, _ in swept:
                        self.registry.blobs.delete(digest)
                    if swept:
                        run.swept_batch([d for d, _ in swept], sum(s for _, s in swept), actor)
                        self.registry.app.save(run)
            self.progress["done"] = start + len(batch)
            report(self.progress)
        return (blobs, freed) if dry_run else (run.swept, run.freed)
