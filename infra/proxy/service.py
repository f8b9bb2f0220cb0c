"""What the OCI read path and the cache filler share about proxy-cache projects: which project
proxies which endpoint (projections/proxy_projects.py), the clients to the upstreams, when a
tag was last checked upstream, and the counters.

`connect` and the `Upstream` calls block (they load the replication set-up and talk HTTP):
run them in a worker thread.
"""

import threading
import time
from collections import OrderedDict
from typing import Any

from domain.proxy_cache import upstream_repository
from infra.proxy.metrics import ProxyMetrics, outcome_of
from infra.proxy.upstream import Upstreams, referrers
from infra.replication.errors import ReplicationError, Unreachable
from projections.proxy_projects import ProxyProject, ProxyProjects

MAX_CHECKED = 100_000
MAX_RECENT = 256  # manifests just fetched upstream, kept until their caching is done


class Upstream:
    """One local repository's upstream: every call runs under the project's connection limit
    and is counted in `tidemark_proxy_upstream_requests{project,outcome}`."""

    def __init__(self, service: "ProxyService", project: ProxyProject, endpoint: dict, client,
                 repository: str) -> None:
        self.service = service
        self.project = project
        self.client = client
        self.endpoint_name = endpoint.get("name", str(project.registry_id))
        self.repository = upstream_repository(endpoint.get("type", ""), repository)

    def acquire(self, wait: float | None = None):
        """One of the project's upstream connections (TooManyRequests after `wait`)."""
        limit = self.project.number("max_upstream_conn", -1)
        return self.service.upstreams.limits.acquire(self.project.name, limit,
                                                     self.service.wait if wait is None else wait)

    def count(self, outcome: str) -> None:
        self.service.metrics.request(self.project.name, outcome)

    def call(self, operation, *args, wait: float | None = None) -> Any:
        release = self.acquire(wait)
        try:
            result = operation(*args)
        except ReplicationError as error:
            self.count(outcome_of(error))
            raise
        finally:
            release()
        self.count("not_found" if result is None else "ok")
        return result

    def manifest_digest(self, reference: str) -> str | None:
        """HEAD: the digest the upstream's tag names, None when it has no such tag."""
        return self.call(self.client.manifest_digest, self.repository, reference)

    def get_manifest(self, reference: str, wait: float | None = None) -> tuple[bytes, str, str]:
        return self.call(self.client.get_manifest, self.repository, reference, wait=wait)

    def blob_size(self, digest: str) -> int | None:
        return self.call(self.client.blob_size, self.repository, digest)

    def referrers(self, digest: str) -> list[dict]:
        return self.call(referrers, self.client, self.repository, digest)

    def tags(self) -> list[str]:
        return self.call(self.client.tags, self.repository)

    def open_blob(self, digest: str, wait: float | None = None):
        """(stream, release): the blob streaming from the upstream, holding one connection of
        the project until `release` is called (when the stream is done or dropped)."""
        release = self.acquire(wait)
        try:
            stream = self.client.open_blob(self.repository, digest)
        except ReplicationError as error:
            release()
            self.count(outcome_of(error))
            raise
        except BaseException:
            release()
            raise
        self.count("ok")
        return stream, release


class ProxyService:
    def __init__(self, registry: Any, projects: ProxyProjects, upstreams: Upstreams,
                 metrics: ProxyMetrics) -> None:
        settings = registry.settings
        self.registry = registry
        self.projects = projects
        self.upstreams = upstreams
        self.metrics = metrics
        self.staleness = settings.proxy_cache_staleness_seconds
        self.wait = settings.proxy_upstream_wait_seconds
        self.filler: Any = None  # workers/proxy_cache/filler.py, attached by infra/wiring/proxy.py
        self._checked: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()
        self._recent: OrderedDict[tuple[str, str], tuple[bytes, str]] = OrderedDict()
        self._lock = threading.Lock()

    def connect(self, project: ProxyProject, repository: str) -> Upstream:
        """The upstream of a local repository of a proxy project (Unreachable when its
        registry endpoint is gone)."""
        endpoint = self.registry.replication.current().registries.get(project.registry_id)
        if endpoint is None:
            self.metrics.request(project.name, "unreachable")
            raise Unreachable(f"registry endpoint {project.registry_id} of project {project.name} "
                              f"no longer exists")
        client = self.upstreams.client(project.name, project.registry_id, endpoint,
                                       project.number("proxy_speed_kb", 0))
        return Upstream(self, project, endpoint, client, repository)

    def checked(self, repository: str, tag: str, digest: str) -> None:
        """Remember that the upstream's tag named `digest` now (this process only)."""
        with self._lock:
            self._checked[(repository, tag)] = (digest, time.monotonic())
            self._checked.move_to_end((repository, tag))
            while len(self._checked) > MAX_CHECKED:
                self._checked.popitem(last=False)

    def fresh(self, repository: str, tag: str, digest: str) -> bool:
        """Whether the cached tag (naming `digest`) was checked upstream within the staleness."""
        if self.staleness <= 0:
            return False
        with self._lock:
            seen = self._checked.get((repository, tag))
        return seen is not None and seen[0] == digest and time.monotonic() - seen[1] < self.staleness

    def remember_manifest(self, repository: str, digest: str, body: bytes, media_type: str) -> None:
        """Keep a manifest just fetched (verified against its digest), so that the GET by
        digest that follows a HEAD by tag does not go upstream again."""
        with self._lock:
            self._recent[(repository, digest)] = (body, media_type)
            while len(self._recent) > MAX_RECENT:
                self._recent.popitem(last=False)

    def recent_manifest(self, repository: str, digest: str) -> tuple[bytes, str] | None:
        with self._lock:
            return self._recent.get((repository, digest))

    def close(self) -> None:
        if self.filler is not None:
            self.filler.close()
        self.upstreams.close()
