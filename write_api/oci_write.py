"""OCI write routes: blob uploads and mounts, manifest push, deletes."""

import hashlib

import anyio.to_thread

from commands.artifacts.messages import DeleteManifest, MountBlob, PushManifest, RemoveTag, UnlinkBlob
from domain.errors import (
    BlobUnknown, Denied, DigestInvalid, ManifestInvalid, ManifestTooLarge, NameInvalid, Unsupported,
)
from domain.artifacts.manifest_format import parse_manifest
from domain.names import check_digest, check_repository, is_digest, is_tag, project_of
from domain.proxy_cache import PUSH_REFUSED
from infra.http.oci import BodyTooLarge, OciRequest, Response, header
from infra.http.lookups import require_project
from infra.proxy.lookup import proxy_project
from write_api.blob_upload import abandon, complete, receive
from infra.storage.uploads import check_content_range


async def handle(request: OciRequest, registry) -> Response:
    route, method = request.route, request.method
    if route not in ("manifest", "uploads", "upload", "blob"):
        raise Unsupported("operation not supported", {"method": method})
    name = check_repository(request.params["name"])
    # Cancelling an upload session is part of pushing (clients cancel the session a refused
    # mount started); deleting a manifest, tag or blob needs `delete`.
    actions = {"delete"} if method == "DELETE" and route != "upload" else {"push"}
    source = _mount_source(request) if route == "uploads" and method == "POST" else None
    actor = await registry.authorizer.authorize(request, name, actions, mount_from=source)
    await require_project(registry, name)
    if await proxy_project(registry, name) is not None:  # its content comes from the upstream only
        raise Denied(PUSH_REFUSED, {"project": project_of(name)})
    if route == "manifest" and method == "PUT":
        return await put_manifest(request, registry, name, request.params["reference"], actor)
    if route == "manifest" and method == "DELETE":
        return await delete_manifest(registry, name, request.params["reference"], actor)
    if route == "uploads" and method == "POST":
        return await start_upload(request, registry, name, actor)
    if route == "upload" and method == "PATCH":
        return await patch_upload(request, registry, name, request.params["upload"])
    if route == "upload" and method == "PUT":
        return await finish_upload(request, registry, name, request.params["upload"], actor)
    if route == "upload" and method == "DELETE":
        await abandon(registry, name, request.params["upload"], "cancelled by client", actor)
        return Response(204, [header("content-length", 0)])
    if route == "blob" and method == "DELETE":
        digest = check_digest(request.params["digest"])
        await registry.run(registry.commands.unlink_blob, UnlinkBlob(name, digest, actor))
        return Response(202, [header("content-length", 0)])
    raise Unsupported("operation not supported", {"method": method})


def _blob_created(registry, name: str, digest: str) -> Response:
    return Response(201, [header("location", f"{registry.external_url}/v2/{name}/blobs/{digest}"),
                          header("docker-content-digest", digest), header("content-length", 0)])


def _upload_accepted(registry, name: str, upload_id: str, size: int, status: int = 202) -> Response:
    return Response(status, [
        header("location", f"{registry.external_url}/v2/{name}/blobs/uploads/{upload_id}"),
        header("range", f"0-{max(size - 1, 0)}"), header("docker-upload-uuid", upload_id),
        header("content-length", 0)])


def _mount_source(request: OciRequest) -> str | None:
    """The valid `from` repository of a mount request (`?mount=<digest>&from=<name>`)."""
    source = request.query.get("from")
    if not request.query.get("mount") or not source:
        return None
    try:
        return check_repository(source)
    except NameInvalid:
        return None  # not mountable: an ordinary upload session


async def start_upload(request: OciRequest, registry, name: str, actor) -> Response:
    if request.query.get("mount") and request.query.get("from"):
        digest = check_digest(request.query["mount"])
        source = _mount_source(request)
        try:
            # A caller (or token) that may not pull from the source gets an upload session,
            # as for a blob the source does not have: nothing tells the two apart.
            if source is not None and await registry.authorizer.may_pull(request, source):
                await registry.run_reachable(registry.commands.mount_blob,
                                             MountBlob(name, digest, source, actor))
                return _blob_created(registry, name, digest)
        except BlobUnknown:
            pass  # not mountable: fall back to an ordinary upload session
    digest = request.query.get("digest")
    if digest is None:
        upload_id = await anyio.to_thread.run_sync(registry.uploads.start, name)
        return _upload_accepted(registry, name, upload_id, 0)
    # A monolithic upload is one request: staged on this node's disk, whatever the sessions' staging.
    staging = registry.local_uploads
    check_digest(digest)
    upload_id = await anyio.to_thread.run_sync(staging.start, name)
    try:
        await receive(request, staging, upload_id, name, 0)
    except BaseException:
        await anyio.to_thread.run_sync(staging.finish, upload_id)
        raise
    await complete(registry, staging, name, upload_id, digest, actor)
    return _blob_created(registry, name, digest)


async def patch_upload(request: OciRequest, registry, name: str, upload_id: str) -> Response:
    size = await anyio.to_thread.run_sync(registry.uploads.size, upload_id, name)
    check_content_range(request.header("content-range"), size)
    size = await receive(request, registry.uploads, upload_id, name, size)
    return _upload_accepted(registry, name, upload_id, size)


async def finish_upload(request: OciRequest, registry, name: str, upload_id: str, actor) -> Response:
    size = await anyio.to_thread.run_sync(registry.uploads.size, upload_id, name)
    digest = request.query.get("digest")
    if not digest:
        raise DigestInvalid("digest parameter missing")
    check_digest(digest)
    check_content_range(request.header("content-range"), size)
    await receive(request, registry.uploads, upload_id, name, size)
    await complete(registry, registry.uploads, name, upload_id, digest, actor)
    return _blob_created(registry, name, digest)


def _manifest_digest(body: bytes, reference: str) -> str:
    algorithm = reference.split(":", 1)[0] if is_digest(reference) else "sha256"
    digest = f"{algorithm}:{hashlib.new(algorithm, body).hexdigest()}"
    if is_digest(reference) and digest != reference:
        raise DigestInvalid("manifest digest does not match the reference", {"digest": reference})
    return digest


async def put_manifest(request: OciRequest, registry, name: str, reference: str, actor) -> Response:
    if is_digest(reference):
        check_digest(reference)
    elif not is_tag(reference):
        raise ManifestInvalid("invalid tag", {"reference": reference[:200]})
    limit = registry.settings.max_manifest_bytes
    try:
        body = await request.body(limit)
    except BodyTooLarge:
        raise ManifestTooLarge("manifest too large", {"limit": limit})
    digest = _manifest_digest(body, reference)
    parsed = parse_manifest(body, request.header("content-type"))
    tag = None if is_digest(reference) else reference
    command = PushManifest(name, digest, len(body), parsed, tag, actor)

    def store_and_push(command: PushManifest):
        def store() -> None:  # after every check, before the events: a refused push stores nothing
            if registry.blobs.size(digest) != len(body):
                registry.blobs.put_bytes(digest, body)
        return registry.commands.push_manifest(command, store)

    await registry.run_reachable(store_and_push, command)
    headers = [header("location", f"{registry.external_url}/v2/{name}/manifests/{digest}"),
               header("docker-content-digest", digest), header("content-length", 0)]
    if parsed.subject:
        headers.append(header("oci-subject", parsed.subject))
    return Response(201, headers)


async def delete_manifest(registry, name: str, reference: str, actor) -> Response:
    if is_digest(reference):
        digest = check_digest(reference)
        tags = await anyio.to_thread.run_sync(registry.queries.tags_of, name, digest)
        await registry.run(registry.commands.delete_manifest, DeleteManifest(name, digest, tags, actor))
    elif is_tag(reference):
        await registry.run(registry.commands.remove_tag, RemoveTag(name, reference, actor))
    else:
        raise ManifestInvalid("invalid tag or digest", {"reference": reference[:200]})
    return Response(202, [header("content-length", 0)])
