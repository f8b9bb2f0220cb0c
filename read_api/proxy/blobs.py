"""Blob reads (GET and HEAD) in a proxy-cache project.

A blob linked to the repository is served as in any project (`None`: oci_read.get_blob). One
this registry stores for another repository is linked here (quota permitting) and served.
Otherwise a GET follows the blob's fetch from the upstream (workers/proxy_cache/fetch.py: one
per blob however many clients ask, under one of the project's upstream connections and its
`proxy_speed_kb`), started by this request or already on its way (the job caching the
manifest starts the fetches of its blobs at once); a HEAD asks the upstream's size. When the
project's quota has no room for the blob, the client still gets its bytes, passed through and
not kept (ADR 0037).
"""

import anyio.to_thread

from domain.errors import BlobUnknown
from domain.names import check_digest
from infra.http.lookups import blob_size
from infra.http.oci import OciRequest, Response, header
from infra.replication.errors import ReplicationError
from read_api.proxy.target import DOWN, Target, log


def _headers(digest: str, size: int) -> list:
    return [header("content-type", "application/octet-stream"), header("docker-content-digest", digest),
            header("etag", f'"{digest}"'), header("content-length", size)]


def _stored(request: OciRequest, registry, digest: str, size: int) -> Response:
    """A blob served from storage without a link to the repository (no room in the quota)."""
    headers = _headers(digest, size)
    if request.method == "HEAD":
        return Response(200, headers)
    path = registry.blobs.local_path(digest)
    if path is not None:
        return Response(200, headers, path=path)
    return Response(200, headers, chunks=registry.blobs.iter_range(digest, 0, size - 1))


async def serve_blob(request: OciRequest, registry, target: Target, reference: str) -> Response | None:
    digest = check_digest(reference)
    name, filler = target.repository, target.service.filler
    if await blob_size(registry, name, digest) is not None:
        target.hit()
        return None
    stored = await anyio.to_thread.run_sync(registry.blobs.size, digest)
    if stored is not None:
        target.hit()
        if await anyio.to_thread.run_sync(filler.link_stored, name, digest, stored, target.actor(request)):
            return None
        return _stored(request, registry, digest, stored)
    what = f"{name}@{digest}"
    if request.method == "HEAD":
        try:
            size = await target.run("blob_size", digest)
        except DOWN as error:
            raise target.unavailable(error, what)
        except ReplicationError:
            size = None
        if size is None:
            raise BlobUnknown("blob unknown to the proxied registry", {"digest": digest})
        target.miss()
        return Response(200, _headers(digest, size))
    try:
        chunks = await anyio.to_thread.run_sync(filler.read, await target.upstream(), name, digest,
                                                target.actor(request))
        if chunks is None:  # it landed a moment ago
            return None
    except DOWN as error:  # the registry closing too
        raise target.unavailable(error, what)
    except ReplicationError as error:
        log.info("proxy cache: upstream refused a blob", repository=name, digest=digest, reason=str(error))
        raise BlobUnknown("blob unknown to the proxied registry", {"digest": digest})
    target.miss()
    return Response(200, _headers(digest, chunks.size), chunks=chunks)
