"""OCI read routes: manifests, blobs, tags, catalog, referrers, upload status."""

import bisect

import anyio.to_thread

from domain.iam.access import ANONYMOUS
from domain.errors import (
    BlobUnknown, DigestInvalid, ManifestInvalid, ManifestUnknown, NameUnknown, RangeInvalid,
)
from domain.history_window import window_for
from domain.input_limits import parse_natural, saturating_natural
from domain.artifacts.manifest_format import OCI_INDEX
from domain.names import check_digest, check_repository, is_digest, is_tag, project_of
from infra.http.oci import OciRequest, Response, header, json_response, paginate_link
from infra.http.lookups import blob_size, lookup, manifest_row, require_project, resolve_tag
from read_api import proxy


async def handle(request: OciRequest, registry) -> Response:
    route = request.route
    if route == "base":
        await registry.authorizer.authorize(request, None, set())
        return json_response(200, {})
    if route == "catalog":
        return await catalog(request, registry, await registry.authorizer.catalog_projects(request))
    name = check_repository(request.params["name"])
    request.state["actor"] = (await registry.authorizer.authorize(request, name, {"pull"})).name
    await require_project(registry, name)
    if route in ("manifest", "blob"):  # a proxy-cache project may answer from its upstream
        answer = await proxy.serve(request, registry, name)
        if answer is not None:
            return answer
    if route == "manifest":
        return await get_manifest(request, registry, name, request.params["reference"])
    if route == "blob":
        return await get_blob(request, registry, name, check_digest(request.params["digest"]))
    if route == "tags":
        return await list_tags(request, registry, name)
    if route == "referrers":
        digest = check_digest(request.params["digest"])
        return await referrers(request, registry, name, digest,
                               await proxy.upstream_referrers(registry, name, digest))
    if route == "upload":
        return upload_status(request, registry, name, request.params["upload"])
    raise NameUnknown("unknown route")


async def _as_of(request: OciRequest, registry, name: str) -> int | None:
    """The log position a `Tidemark-As-Of` header names (an RFC 3339 time or a position), if
    it is inside the caller's window on the project's history (domain/history_window.py)."""
    value = request.header("tidemark-as-of")
    if value is None:
        return None
    position = await anyio.to_thread.run_sync(registry.history.resolve_at, value, "Tidemark-As-Of")
    principal = request.state.get("principal", ANONYMOUS)
    project = await anyio.to_thread.run_sync(registry.queries.project_by_key, project_of(name), True)
    if project is None:
        raise NameUnknown("repository name not known to registry", {"name": name})
    window = await anyio.to_thread.run_sync(
        window_for, principal, project.name, project.public, project.project_id,
        lambda: registry.project_periods.public_since(project.name, project.project_id))
    if not window.covers(position):
        raise ManifestUnknown("manifest unknown: the project did not exist at that moment, or was not "
                              "visible to you then", {"as_of": value[:64]})
    return position


def _readable_digest(reference: str) -> str | None:
    try:
        return check_digest(reference)
    except DigestInvalid:
        return None


async def get_manifest(request: OciRequest, registry, name: str, reference: str) -> Response:
    """A reference that is neither a valid tag nor a valid digest names no manifest: 404
    MANIFEST_UNKNOWN, as the distribution spec's conformance suite expects (a PUT of it
    answers 400)."""
    if is_digest(reference):
        digest = _readable_digest(reference)
        if digest is None:
            raise ManifestUnknown("manifest unknown: not a valid digest",
                                  {"reference": reference[:200]})
    elif is_tag(reference):
        position = await _as_of(request, registry, name)
        if position is None:
            digest = await resolve_tag(registry, name, reference)
        else:
            digest = await anyio.to_thread.run_sync(registry.queries.tag_at, name, reference, position)
        if digest is None:
            raise ManifestUnknown("manifest unknown", {"tag": reference})
    else:
        raise ManifestUnknown("manifest unknown: not a valid tag or digest",
                              {"reference": reference[:200]})
    row = await manifest_row(registry, name, digest)
    if row is None:
        raise ManifestUnknown("manifest unknown", {"digest": digest})
    headers = [header("content-type", row.media_type), header("content-length", row.size),
               header("docker-content-digest", digest), header("etag", f'"{digest}"')]
    if request.method == "HEAD":
        return Response(200, headers)
    await registry.pull_gates.check(request.state.get("principal"), name, row, request)
    content = registry.content.get(digest)
    if content is None:
        content = await anyio.to_thread.run_sync(registry.blobs.read, digest)
        registry.content.put(digest, content)
    registry.pulls.record(name, digest, None if digest == reference else reference,
                          request.state.get("actor", ""), request.client_ip, request.request_id)
    return Response(200, headers, content)


def _parse_range(value: str, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive for a single `bytes=` range; None to send everything."""
    if not value.startswith("bytes=") or "," in value:
        return None
    first, _, last = value[6:].strip().partition("-")
    try:
        if first == "":
            length = saturating_natural(last)
            start, end = max(size - length, 0), size - 1
            if length <= 0:
                raise ValueError
        else:
            start = saturating_natural(first)
            end = saturating_natural(last) if last else size - 1
    except ValueError:
        raise RangeInvalid("invalid range", {"range": value[:100]})
    if start >= size or end < start:
        raise RangeInvalid("range not satisfiable", {"range": value[:100], "size": size})
    return start, min(end, size - 1)


async def get_blob(request: OciRequest, registry, name: str, digest: str) -> Response:
    size = await blob_size(registry, name, digest)
    if size is None:
        raise BlobUnknown("blob unknown to registry", {"digest": digest})
    headers = [header("content-type", "application/octet-stream"), header("accept-ranges", "bytes"),
               header("docker-content-digest", digest), header("etag", f'"{digest}"'),
               header("cache-control", "max-age=31536000")]
    requested = request.header("range")
    try:
        span = _parse_range(requested, size) if requested else None
    except RangeInvalid:
        return Response(416, [header("content-range", f"bytes */{size}"), header("content-length", 0)])
    if span is None:
        headers.append(header("content-length", size))
        if request.method == "HEAD":
            return Response(200, headers)
        path = registry.blobs.local_path(digest)
        if path is not None:
            return Response(200, headers, path=path)
        return Response(200, headers, chunks=registry.blobs.iter_range(digest, 0, size - 1))
    start, end = span
    headers += [header("content-length", end - start + 1),
                header("content-range", f"bytes {start}-{end}/{size}")]
    if request.method == "HEAD":
        return Response(206, headers)
    return Response(206, headers, chunks=registry.blobs.iter_range(digest, start, end))


def _page_size(request: OciRequest) -> int | None:
    value = parse_natural(request.query.get("n"), "n", error=ManifestInvalid)
    return None if value is None else min(value, 100_000)


async def list_tags(request: OciRequest, registry, name: str) -> Response:
    limit = _page_size(request)
    last = request.query.get("last")
    tags = await lookup(registry, ("tags", name), registry.queries.tag_list, name)
    upstream = await proxy.upstream_tags(registry, name)
    if upstream:  # a proxy-cache project: what the upstream has, and what is cached
        tags = sorted(set(tags or []) | set(upstream))
    if tags is None:
        raise NameUnknown("repository name not known to registry", {"name": name})
    start = bisect.bisect_right(tags, last) if last else 0
    page = tags[start:] if limit is None else tags[start:start + limit]
    more = limit is not None and start + limit < len(tags)
    extra = [paginate_link(f"/v2/{name}/tags/list", limit, page[-1])] if more and page else []
    return json_response(200, {"name": name, "tags": page}, extra)


async def catalog(request: OciRequest, registry, projects: set[str] | None) -> Response:
    """Every repository for administrators; for others, those in projects they may pull from."""
    limit = _page_size(request)
    last = request.query.get("last")
    names = [] if limit == 0 else await anyio.to_thread.run_sync(
        registry.queries.repositories, limit, last, projects)
    extra = [paginate_link("/v2/_catalog", limit, names[-1])] if limit and len(names) == limit else []
    return json_response(200, {"repositories": names}, extra)


async def referrers(request: OciRequest, registry, name: str, digest: str,
                    upstream: list[dict] = ()) -> Response:
    """The local referrers of `digest`, and those of a proxy-cache project's upstream that are
    not cached (the same digest is listed once)."""
    rows = await anyio.to_thread.run_sync(registry.queries.referrers, name, digest)
    wanted = request.query.get("artifactType")
    extra = []
    if wanted:
        rows = [row for row in rows if row.artifact_type == wanted]
        upstream = [entry for entry in upstream if entry.get("artifactType") == wanted]
        extra.append(header("oci-filters-applied", "artifactType"))
    manifests = []
    for row in rows:
        entry = {"mediaType": row.media_type, "digest": row.digest, "size": row.size}
        if row.artifact_type:
            entry["artifactType"] = row.artifact_type
        if row.annotations:
            entry["annotations"] = row.annotations
        manifests.append(entry)
    listed = {entry["digest"] for entry in manifests}
    for entry in upstream:
        if entry["digest"] not in listed:
            listed.add(entry["digest"])
            manifests.append(entry)
    return json_response(200, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests},
                         extra, content_type=OCI_INDEX)


def upload_status(request: OciRequest, registry, name: str, upload_id: str) -> Response:
    size = registry.uploads.size(upload_id, name)
    return Response(204, [header("location", f"{registry.external_url}/v2/{name}/blobs/uploads/{upload_id}"),
                          header("range", f"0-{max(size - 1, 0)}"),
                          header("docker-upload-uuid", upload_id), header("content-length", 0)])
