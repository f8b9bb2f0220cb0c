"""OCI reads in proxy-cache projects (Harbor's pull-through cache, ADR 0037): manifests and
blobs come from the cache, or from the upstream registry (answered while they are cached);
referrers merge the upstream's with the local ones. oci_read delegates here; `None` means
"serve it from the local store as in any project"."""

from domain.errors import TooManyRequests
from infra.http.oci import OciRequest, Response
from infra.replication.errors import ReplicationError
from read_api.proxy.blobs import serve_blob
from read_api.proxy.manifests import serve_manifest
from read_api.proxy.target import log, target_of


async def serve(request: OciRequest, registry, name: str) -> Response | None:
    """The answer to a manifest or blob read in a proxy-cache project; None for the local path
    (an ordinary project, a cache hit, or a look at the past with `Tidemark-As-Of`)."""
    if request.header("tidemark-as-of") is not None:
        return None
    target = await target_of(registry, name)
    if target is None:
        return None
    if request.route == "manifest":
        return await serve_manifest(request, registry, target, request.params["reference"])
    if request.route == "blob":
        return await serve_blob(request, registry, target, request.params["digest"])
    return None


async def upstream_referrers(registry, name: str, digest: str) -> list[dict]:
    """The upstream's referrers of `digest`, for a proxy-cache project whose
    `proxy_referrer_api` is not "false"; [] otherwise, and when the upstream has no referrers
    API or cannot be reached (the local ones are still answered)."""
    target = await target_of(registry, name)
    if target is None or target.settings.get("proxy_referrer_api") == "false":
        return []
    try:
        return await target.run("referrers", digest)
    except (ReplicationError, TooManyRequests) as error:
        log.info("proxy cache: no upstream referrers", repository=name, digest=digest,
                 reason=str(getattr(error, "message", error)))
        return []



async def upstream_tags(registry, name: str) -> list[str] | None:
    """The upstream's tags of a repository in a proxy-cache project (merged with the cached
    ones by the tags list, so a client may list a repository it never pulled); None for an
    ordinary project, [] when the upstream cannot answer now."""
    target = await target_of(registry, name)
    if target is None:
        return None
    try:
        return await target.run("tags")
    except (ReplicationError, TooManyRequests) as error:
        log.info("proxy cache: upstream tags not listed", repository=name,
                 reason=str(getattr(error, "message", error)))
        return []
