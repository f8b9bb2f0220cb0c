"""Cached query-model lookups for the OCI read path: a cache hit never leaves
the event loop; a miss runs the query in a worker thread."""

import anyio.to_thread

from domain.errors import NameUnknown
from domain.names import project_of
from projections.cache import MISS


async def lookup(registry, key: tuple, loader, *args):
    hit = registry.queries.cached(key)
    if hit is not MISS:
        return hit
    return await anyio.to_thread.run_sync(loader, *args)


async def require_project(registry, repository: str):
    project = project_of(repository)
    row = await lookup(registry, ("project", project), registry.queries.project, project)
    if row is None:
        raise NameUnknown("repository name not known to registry", {"name": repository})
    return row


async def resolve_tag(registry, repository: str, tag: str) -> str | None:
    return await lookup(registry, ("tag", repository, tag), registry.queries.tag, repository, tag)


async def manifest_row(registry, repository: str, digest: str):
    return await lookup(registry, ("manifest", repository, digest),
                        registry.queries.manifest, repository, digest)


async def blob_size(registry, repository: str, digest: str) -> int | None:
    return await lookup(registry, ("blob", repository, digest),
                        registry.queries.blob_size, repository, digest)
