"""Manifest reads (GET and HEAD) in a proxy-cache project.

- By digest: the cached one, else the upstream's (checked against the digest), cached in the
  background.
- By tag: nothing cached: one GET upstream by tag. The cached one while it was checked
  upstream within `proxy_cache_staleness_seconds`; else a HEAD upstream: the same digest serves the cache; another one (or none cached) is
  fetched, answered, and cached in the background with its tag. An upstream that is down
  serves the cached copy (logged), or 503 when nothing is cached; an upstream without the
  tag answers 404 (or the cached copy, with `proxy_cache_local_on_not_found`).

`None` means "serve it from the local store as any project does" (oci_read.get_manifest).
"""

import anyio.to_thread

from domain.artifacts.manifest_format import parse_manifest
from domain.errors import DigestInvalid, ManifestInvalid, ManifestUnknown
from domain.names import check_digest, is_digest, is_tag
from infra.http.lookups import manifest_row, resolve_tag
from infra.http.oci import OciRequest, Response, header
from infra.replication.errors import ReplicationError
from projections.oci_queries import ManifestRow
from read_api.proxy.target import DOWN, Target, log


async def serve_manifest(request: OciRequest, registry, target: Target, reference: str) -> Response | None:
    name = target.repository
    if is_digest(reference):
        try:
            digest = check_digest(reference)
        except DigestInvalid:
            return None  # the local path answers as for any project
        if await manifest_row(registry, name, digest) is not None:
            target.hit()
            return None
        return await _from_upstream(request, registry, target, digest, None, cached=False)
    if not is_tag(reference):
        return None
    local = await resolve_tag(registry, name, reference)
    cached = local is not None and await manifest_row(registry, name, local) is not None
    if cached and target.service.fresh(name, reference, local):
        target.hit()
        return None
    what = f"{name}:{reference}"
    if local is None:  # nothing to compare with: one GET upstream, not a HEAD and then a GET
        return await _first_pull(request, registry, target, reference)
    try:
        upstream_digest = await target.run("manifest_digest", reference)
    except DOWN as error:
        if cached:
            target.serving_cached(error, what)
            target.hit()
            return None
        raise target.unavailable(error, what)
    except ReplicationError as error:  # it answered, refusing these credentials or the name
        log.info("proxy cache: upstream refused a manifest", repository=name, tag=reference,
                 reason=str(error))
        upstream_digest = None
    if upstream_digest is None:
        if cached and target.settings.get("proxy_cache_local_on_not_found") == "true":
            target.hit()
            return None
        raise ManifestUnknown("manifest unknown to the proxied registry", {"tag": reference})
    if cached and upstream_digest == local:
        target.service.checked(name, reference, local)
        target.hit()
        return None
    here = await manifest_row(registry, name, upstream_digest)
    if here is not None:  # cached by digest already: serve it, and move the tag in the background
        body = await _stored_bytes(registry, here.digest)
        target.service.filler.cache_manifest(await target.upstream(), name, here.digest, body,
                                             here.media_type, reference, target.actor(request))
        target.hit()
        return await _answer(request, registry, name, here, body, reference)
    return await _from_upstream(request, registry, target, upstream_digest, reference, cached)


async def _first_pull(request: OciRequest, registry, target: Target, tag: str) -> Response:
    """A tag with no cached copy: the upstream's manifest by tag, answered and cached."""
    name = target.repository
    try:
        body, media_type, digest = await target.run("get_manifest", tag)
    except DOWN as error:
        raise target.unavailable(error, f"{name}:{tag}")
    except ReplicationError as error:  # not there, or refused for these credentials
        log.info("proxy cache: upstream refused a manifest", repository=name, tag=tag, reason=str(error))
        raise ManifestUnknown("manifest unknown to the proxied registry", {"tag": tag})
    target.service.remember_manifest(name, digest, body, media_type)
    target.service.checked(name, tag, digest)
    return await _from_upstream(request, registry, target, digest, tag, cached=False)


async def _stored_bytes(registry, digest: str) -> bytes:
    content = registry.content.get(digest)
    if content is None:
        content = await anyio.to_thread.run_sync(registry.blobs.read, digest)
    return content


async def _from_upstream(request: OciRequest, registry, target: Target, digest: str, tag: str | None,
                         cached: bool) -> Response | None:
    """The upstream's manifest `digest`, answered and cached in the background (with `tag`);
    `cached`: the tag has an older cached copy to fall back on."""
    name, what = target.repository, f"{target.repository}@{digest}"
    recent = target.service.recent_manifest(name, digest)
    if recent is not None:  # fetched a moment ago (a HEAD, then the GET by digest)
        body, media_type = recent
    else:
        try:
            body, media_type, digest = await target.run("get_manifest", digest)
        except DOWN as error:
            if cached:
                target.serving_cached(error, what)
                target.hit()
                return None
            raise target.unavailable(error, what)
        except ReplicationError as error:
            log.info("proxy cache: upstream refused a manifest", repository=name, digest=digest,
                     reason=str(error))
            raise ManifestUnknown("manifest unknown to the proxied registry", {"digest": digest})
        target.service.remember_manifest(name, digest, body, media_type)
    target.miss()
    try:
        parsed = parse_manifest(body, media_type)
    except ManifestInvalid as error:  # a kind this registry cannot store: passed on, not cached
        log.info("proxy cache: manifest served but not cacheable", repository=name, digest=digest,
                 reason=error.message)
        row = ManifestRow(name, digest, media_type, len(body), None, None, {})
    else:
        target.service.filler.cache_manifest(await target.upstream(), name, digest, body, media_type,
                                             tag, target.actor(request))
        row = ManifestRow(name, digest, parsed.media_type, len(body), parsed.artifact_type,
                          parsed.subject, parsed.annotations)
    return await _answer(request, registry, name, row, body, tag)


async def _answer(request: OciRequest, registry, name: str, row: ManifestRow, body: bytes,
                  tag: str | None) -> Response:
    """As the local path answers: the same headers, pull gates and pull record."""
    headers = [header("content-type", row.media_type), header("content-length", len(body)),
               header("docker-content-digest", row.digest), header("etag", f'"{row.digest}"')]
    if request.method == "HEAD":
        return Response(200, headers)
    await registry.pull_gates.check(request.state.get("principal"), name, row, request)
    registry.pulls.record(name, row.digest, tag, request.state.get("actor", ""), request.client_ip,
                          request.request_id)
    return Response(200, headers, body)
