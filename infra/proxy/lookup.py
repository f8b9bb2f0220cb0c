"""Whether a repository is in a proxy-cache project: one cached lookup on the OCI paths (a
cache hit never leaves the event loop; a miss reads in a worker thread)."""

import anyio.to_thread

from domain.names import project_of
from projections.cache import MISS


async def proxy_project(registry, repository: str):
    """The repository's project as a projections.proxy_projects.ProxyProject, or None when
    it is an ordinary project."""
    projects = registry.proxy.projects
    name = project_of(repository)
    found = projects.cached(name)
    if found is MISS:
        found = await anyio.to_thread.run_sync(projects.of, name)
    return found
