"""Storing what proxy-cache projects pulled through, through the same commands as an OCI push
(actor "proxy-cache"): quota checked before bytes are kept, references checked, bytes stored
only once their digest is verified, the collector's lock held while they become reachable.
So cached content is ordinary content: quota, retention, GC and replication apply unchanged.

- A blob not cached is fetched once however many ask (fetch.py): the fetch stages it, every
  client asking meanwhile reads the staged bytes as they come, and it is committed here at
  its end (`commit_staged`); nothing half-written is ever visible.
- A manifest a client got from the upstream is cached by a job on a few daemon threads: after
  `delay` seconds (0 by default), the fetches of every referenced blob still missing start at
  once (the client's own blob requests read them), child manifests are fetched, then the
  manifest is pushed with its tag.
"""

import os
import queue
import tempfile
import threading
import time
from typing import Any

import structlog

from commands.artifacts.messages import LinkBlob, PushManifest
from domain.artifacts.manifest_format import parse_manifest
from domain.base import Actor
from domain.errors import RegistryError
from domain.quota import QuotaExceeded
from infra.replication.errors import ReplicationError
from workers.proxy_cache.fetch import Fetch, Missed, Stopped

log = structlog.get_logger("proxy_cache")

FETCH_WAIT = 600.0  # the longest a job waits for one of the project's upstream connections
POLL = 0.5
STALE_STAGING = 24 * 3600.0


class ProxyFiller:
    def __init__(self, registry: Any, workers: int = 2, delay: float = 0.0) -> None:
        self.registry = registry
        self.delay = delay
        self.staging = registry.settings.data_path / "proxy-staging"
        self._swept = False
        self._jobs: queue.Queue = queue.Queue()
        self._queued: set[tuple] = set()
        self._fetches: dict[tuple[str, str], threading.Event] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._work, name=f"proxy-cache-{n}", daemon=True)
                         for n in range(workers)]
        for thread in self._threads:
            thread.start()

    # -- blobs --------------------------------------------------------------------

    def staging_file(self) -> str:
        """A new staging file (the directory is made, and swept of what a crash left behind,
        by the first one: only a process that proxies touches it)."""
        if not self._swept:
            self.staging.mkdir(parents=True, exist_ok=True)
            self._sweep()
            self._swept = True
        handle, path = tempfile.mkstemp(dir=self.staging, prefix="blob-")
        os.close(handle)
        return path

    def _sweep(self) -> None:
        """Staged files older than a day: no stream of any process is still writing them."""
        cutoff = time.time() - STALE_STAGING
        for path in self.staging.iterdir():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                pass

    @property
    def stopping(self) -> threading.Event:
        return self._stopping

    def fetch(self, upstream, repository: str, digest: str, actor: Actor, wait: float | None = None) -> Fetch:
        """The fetch of the blob for the repository in flight, or a new one started."""
        return self._fetch(upstream, repository, digest, actor, wait, False)[0]

    def _fetch(self, upstream, repository: str, digest: str, actor: Actor, wait: float | None,
               reading: bool) -> tuple[Fetch, bool]:
        """(fetch, whether a reader came with it): a new fetch made for `reading` counts its
        reader from the start, so even a tiny blob cannot end before that reader is there."""
        key = (repository, digest)
        with self._lock:
            found = self._fetches.get(key)
            if found is not None:
                return found, False
            if self._stopping.is_set():
                raise Stopped()
            fetch = self._fetches[key] = Fetch(self, upstream, repository, digest, actor, wait, self._ended,
                                               readers=1 if reading else 0)
        return fetch.start(), reading

    def read(self, upstream, repository: str, digest: str, actor: Actor):
        """A reader of the blob's fetch (one in flight, or a new one), or None when it has just
        been kept (serve it from the store). A fetch that ended keeping nothing (over the
        quota) before this reader came is followed by a new one."""
        for _ in range(3):  # a found fetch may end keeping nothing just before its reader comes
            fetch, attached = self._fetch(upstream, repository, digest, actor, None, True)
            try:
                return fetch.reader(attached)
            except Missed:
                continue
        raise Stopped("the blob's fetches keep ending before they can be read; try again")

    def _ended(self, fetch: Fetch) -> None:
        with self._lock:
            if self._fetches.get((fetch.repository, fetch.digest)) is fetch:
                del self._fetches[(fetch.repository, fetch.digest)]

    def commit_staged(self, repository: str, digest: str, path: str, size: int, actor: Actor) -> bool:
        """Store a staged blob whose bytes were verified and link it to the repository, the
        project's quota permitting; the staged file is gone afterwards. False (logged) when
        it was not kept."""
        registry = self.registry
        try:
            registry.commands.quotas.refuse_if_over(repository, digest, size, actor)
            with registry.gc_lock.shared():  # storing and linking are one step for the collector
                if registry.blobs.size(digest) != size:
                    registry.blobs.put_file(digest, path)
                registry.commands.link_blob(LinkBlob(repository, digest, size, actor))
            registry.catch_up_reads()
            return True
        except QuotaExceeded as error:
            log.warning("proxy cache: blob not kept, the project is over its quota",
                        repository=repository, digest=digest, reason=error.message)
        except Exception:
            log.exception("proxy cache: could not store a blob", repository=repository, digest=digest)
        finally:
            if os.path.exists(path):
                os.unlink(path)
        return False

    def link_stored(self, repository: str, digest: str, size: int, actor: Actor) -> bool:
        """Link a blob this registry stores already (for another repository) to the
        repository; False when the project's quota has no room for it."""
        registry = self.registry
        if registry.commands.quotas.would_exceed(repository, digest, size):
            return False
        try:
            with registry.gc_lock.shared():
                if registry.blobs.size(digest) != size:
                    return False  # collected meanwhile: fetch it again
                registry.commands.link_blob(LinkBlob(repository, digest, size, actor))
        except QuotaExceeded:
            return False
        registry.catch_up_reads()
        return True

    def _ensure_blobs(self, upstream, repository: str, digests: list[str], actor: Actor) -> None:
        """Every blob linked to the repository: those stored for another one are linked, the
        others fetched (all at once, each read by any client that asks for it meanwhile)."""
        queries, fetches = self.registry.queries, []
        for digest in digests:
            if queries.blob_size(repository, digest) is not None:
                continue
            stored = self.registry.blobs.size(digest)
            if stored is not None and self.link_stored(repository, digest, stored, actor):
                continue
            fetches.append(self.fetch(upstream, repository, digest, actor, FETCH_WAIT))
        for fetch in fetches:
            while not fetch.wait_ended(POLL):
                if self._stopping.is_set():
                    raise Stopped()
            if not (fetch.kept or queries.blob_size(repository, fetch.digest) is not None):
                raise fetch.error or RegistryError(f"blob {fetch.digest} was not kept")

    # -- manifests ----------------------------------------------------------------

    def cache_manifest(self, upstream, repository: str, digest: str, body: bytes, media_type: str,
                       tag: str | None, actor: Actor) -> None:
        """Queue caching a manifest a client got (and its tag); a second request for the same
        one while it is queued is dropped."""
        key = (repository, digest, tag)
        with self._lock:
            if self._stopping.is_set() or key in self._queued:
                return
            self._queued.add(key)
        self._jobs.put((time.monotonic() + self.delay, key, upstream, body, media_type, actor))

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None or self._stopping.is_set():
                return
            due, key, upstream, body, media_type, actor = job
            repository, digest, tag = key
            try:
                wait = due - time.monotonic()
                if wait > 0 and self._stopping.wait(wait):
                    return
                self._store_manifest(upstream, repository, digest, body, media_type, tag, actor)
            except Stopped:
                return
            except (ReplicationError, RegistryError) as error:
                log.warning("proxy cache: manifest not cached", repository=repository, digest=digest,
                            tag=tag, reason=str(getattr(error, "message", error)))
            except Exception:
                log.exception("proxy cache: manifest not cached", repository=repository, digest=digest)
            finally:
                with self._lock:
                    self._queued.discard(key)

    def _store_manifest(self, upstream, repository: str, digest: str, body: bytes, media_type: str,
                        tag: str | None, actor: Actor) -> None:
        registry = self.registry
        queries = registry.queries
        here = queries.manifest(repository, digest) is not None
        if here and (tag is None or queries.tag(repository, tag) == digest):
            return
        parsed = parse_manifest(body, media_type)
        if not here:
            for child in parsed.manifests:  # an index: every child, so the tag serves whole
                if queries.manifest(repository, child) is None:
                    child_body, child_type, _ = upstream.get_manifest(child, wait=FETCH_WAIT)
                    self._store_manifest(upstream, repository, child, child_body, child_type, None, actor)
            self._ensure_blobs(upstream, repository, list(parsed.blobs), actor)

        def store() -> None:
            if registry.blobs.size(digest) != len(body):
                registry.blobs.put_bytes(digest, body)

        with registry.gc_lock.shared():
            registry.commands.push_manifest(PushManifest(repository, digest, len(body), parsed, tag, actor),
                                            store)
        registry.catch_up_reads()
        if tag is not None:
            registry.proxy.checked(repository, tag, digest)
        log.info("proxy cache: cached", repository=repository, digest=digest, tag=tag)

    # -- lifecycle ----------------------------------------------------------------

    def idle(self) -> bool:
        """No manifest job queued or running (for tests and health)."""
        with self._lock:
            return not self._queued

    def close(self, timeout: float = 10.0) -> None:
        """Stop taking jobs; let running ones end (a fetch stops at its next chunk)."""
        self._stopping.set()
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout=timeout)
