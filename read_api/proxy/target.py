"""Whether an OCI read is in a proxy-cache project, and reaching its upstream from the event
loop: the project's row is one cached lookup; the upstream (endpoint, client) is resolved
only when the read needs it, in a worker thread."""

from typing import Any

import anyio.to_thread
import structlog

from domain.errors import NameUnknown, RegistryError, TooManyRequests
from domain.proxy_cache import UpstreamUnavailable, allowed, proxy_actor
from infra.proxy.lookup import proxy_project
from infra.replication.errors import DigestMismatch, ServerError, TlsError, Unreachable

log = structlog.get_logger("proxy_cache")

# The upstream could not answer now (a cached copy is served instead, if there is one); any
# other ReplicationError is an answer: not there (404), or not for these credentials.
DOWN = (Unreachable, ServerError, TlsError, DigestMismatch, TooManyRequests)


class Target:
    """A read of `repository` in a proxy-cache project."""

    def __init__(self, registry: Any, project, repository: str) -> None:
        self.registry = registry
        self.service = registry.proxy
        self.project = project
        self.repository = repository
        self._upstream = None

    @property
    def settings(self) -> dict[str, str]:
        return self.project.settings

    def hit(self) -> None:
        self.service.metrics.hit(self.project.name)

    def miss(self) -> None:
        self.service.metrics.miss(self.project.name)

    def actor(self, request):
        return proxy_actor(request.client_ip, request.request_id)

    async def upstream(self):
        if self._upstream is None:
            self._upstream = await anyio.to_thread.run_sync(self.service.connect, self.project,
                                                            self.repository)
        return self._upstream

    async def run(self, method: str, *args) -> Any:
        """Call an `infra.proxy.service.Upstream` method in a worker thread."""
        upstream = await self.upstream()
        return await anyio.to_thread.run_sync(getattr(upstream, method), *args)

    def unavailable(self, error: Exception, what: str) -> RegistryError:
        """The answer when the upstream is down and nothing is cached: its 429 as is, else
        503 naming the endpoint (the reason, which names its address, goes to the log)."""
        log.warning("proxy cache: upstream unavailable, nothing cached", project=self.project.name,
                    repository=self.repository, what=what, reason=str(getattr(error, "message", error)))
        if isinstance(error, TooManyRequests):
            return error
        return UpstreamUnavailable(
            f"the upstream registry of proxy-cache project {self.project.name} cannot be reached, "
            f"and {what} is not cached", {"project": self.project.name, "registry_id": self.project.registry_id})

    def serving_cached(self, error: Exception, what: str) -> None:
        log.warning("proxy cache: upstream unavailable, serving the cached copy",
                    project=self.project.name, repository=self.repository, what=what,
                    reason=str(getattr(error, "message", error)))


async def target_of(registry: Any, repository: str) -> Target | None:
    """The read's proxy target, or None when the project is an ordinary one. A repository
    outside the project's allow-list is NAME_UNKNOWN, whatever is cached."""
    project = await proxy_project(registry, repository)
    if project is None:
        return None
    if not allowed(project.settings, repository):
        raise NameUnknown("repository name not known to registry: outside the proxy-cache "
                          "project's allow-list", {"name": repository})
    return Target(registry, project, repository)
