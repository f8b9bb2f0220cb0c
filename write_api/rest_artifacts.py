"""Routes that change repositories, artifacts and tags, including Tidemark's
undelete and tag restore (each a new event, never an edit of history)."""

import anyio.to_thread
from litestar import Request, Response, delete, post, put
from litestar.params import JSONBody, Parameter

from commands.artifacts.messages import AddTag, DeleteManifest, DeleteRepository, RemoveTag, UndeleteManifest
from commands.artifacts.descriptions import DescribeRepository
from domain.errors import Conflict, Denied, NotFound
from domain.proxy_cache import PUSH_REFUSED
from infra.proxy.lookup import proxy_project
from domain.artifacts.manifest_format import parse_manifest
from domain.names import TAG
from domain.errors import BadRequest
from infra.schemas.harbor import AtReq, TagReq
from infra.http.rest_guard import position_in_window
from infra.http.resources import find_artifact, full_repository_name, project_for

BASE = "/api/v2.0/projects/{project_name:str}/repositories/{repository_name:str}"


@delete(BASE, status_code=200)
async def delete_repository(request: Request, project_name: str = Parameter(),
                            repository_name: str = Parameter()) -> None:
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    history = who.registry.history
    rows, _ = await anyio.to_thread.run_sync(history.artifacts, name, 0, 1_000_000, None)
    if not rows:
        raise NotFound("repository not found", {"repository": name})
    tags = await anyio.to_thread.run_sync(history.tags, name, None, None)
    manifests = {r.digest: [t.name for t in tags if t.digest == r.digest] for r in rows}
    await who.registry.run(who.registry.commands.delete_repository,
                           DeleteRepository(name, manifests, who.actor))


@put(BASE, status_code=200)
async def update_repository(request: Request, data: JSONBody[dict], project_name: str = Parameter(),
                            repository_name: str = Parameter()) -> None:
    """Harbor's Repository body; only `description` is stored (an event on the repository's info)."""
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    if await anyio.to_thread.run_sync(who.registry.history.repository, name, None) is None:
        raise NotFound("repository not found", {"repository": name})
    await who.registry.run(who.registry.repository_info.describe_repository,
                           DescribeRepository(name, data.get("description", ""), who.actor))


@delete(BASE + "/artifacts/{reference:str}", status_code=200)
async def delete_artifact(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                          reference: str = Parameter()) -> None:
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    row = await find_artifact(who.registry, name, reference, None)
    queries = who.registry.queries
    tags = await anyio.to_thread.run_sync(queries.tags_of, name, row.digest)
    # Its accessories and an index's own manifests go with it, as in Harbor.
    dependents = await anyio.to_thread.run_sync(queries.dependents, name, row.digest)
    await who.registry.run(who.registry.commands.delete_manifest,
                           DeleteManifest(name, row.digest, tags, who.actor, dependents=dependents))


@post(BASE + "/artifacts/{reference:str}/tags", status_code=201)
async def add_tag(request: Request, data: JSONBody[TagReq], project_name: str = Parameter(),
                  repository_name: str = Parameter(), reference: str = Parameter()) -> Response:
    who, project = await project_for(request)
    if not TAG.fullmatch(data.name):
        raise BadRequest("invalid tag name", {"field": "name"})
    name = full_repository_name(project.name, repository_name)
    if await proxy_project(who.registry, name) is not None:  # its tags are the upstream's
        raise Denied(PUSH_REFUSED, {"project": project.name})
    row = await find_artifact(who.registry, name, reference, None)
    existing = await anyio.to_thread.run_sync(who.registry.queries.tag, name, data.name)
    if existing is not None:
        raise Conflict("the tag already exists", {"tag": data.name})
    await who.registry.run(who.registry.commands.add_tag, AddTag(name, data.name, row.digest, who.actor))
    return Response(None, status_code=201,
                    headers={"Location": f"{request.url.path.rstrip('/')}/{data.name}"})  # as Harbor


@delete(BASE + "/artifacts/{reference:str}/tags/{tag_name:str}", status_code=200)
async def delete_tag(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                     reference: str = Parameter(), tag_name: str = Parameter()) -> None:
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    row = await find_artifact(who.registry, name, reference, None)
    if await anyio.to_thread.run_sync(who.registry.queries.tag, name, tag_name) != row.digest:
        raise NotFound("the artifact has no such tag", {"tag": tag_name[:128]})
    await who.registry.run(who.registry.commands.remove_tag, RemoveTag(name, tag_name, who.actor))


def _stored(registry, row) -> tuple[bytes, object]:
    """The artifact's manifest bytes and parse, if its bytes and blobs are all still stored."""
    if registry.blobs.size(row.digest) is None:
        raise Conflict("the artifact's manifest was garbage-collected", {"digest": row.digest})
    body = registry.blobs.read(row.digest)
    parsed = parse_manifest(body, row.media_type)
    for digest in parsed.blobs:
        if registry.blobs.size(digest) is None:
            raise Conflict("a blob of the artifact was garbage-collected", {"digest": digest})
    return body, parsed


@post(BASE + "/artifacts/{digest:str}/undelete", status_code=200)
async def undelete_artifact(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                            digest: str = Parameter()) -> None:
    """Tidemark addition: bring a deleted artifact back while its blobs still exist."""
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    row = await anyio.to_thread.run_sync(who.registry.history.last_version, name, digest)
    if row is None:
        raise NotFound("artifact never existed here", {"digest": digest[:200]})
    body, parsed = await anyio.to_thread.run_sync(_stored, who.registry, row)
    await who.registry.run(who.registry.commands.undelete_manifest,
                           UndeleteManifest(name, digest, len(body), parsed, who.actor))


@post(BASE + "/tags/{tag:str}/restore", status_code=200)
async def restore_tag(request: Request, data: JSONBody[AtReq], project_name: str = Parameter(),
                      repository_name: str = Parameter(), tag: str = Parameter()) -> dict:
    """Tidemark addition: point the tag back at the digest it named at `at` (a new event)."""
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    at = str(data.at)
    position = await position_in_window(who, at)
    if position is None:
        raise BadRequest("at is required", {"field": "at"})
    digest = await anyio.to_thread.run_sync(who.registry.queries.tag_at, name, tag, position)
    if digest is None:
        raise NotFound("the tag did not exist at that moment", {"tag": tag[:128], "at": at[:64]})
    row = await anyio.to_thread.run_sync(who.registry.history.last_version, name, digest)
    await anyio.to_thread.run_sync(_stored, who.registry, row)
    await who.registry.run(who.registry.commands.add_tag,
                           AddTag(name, tag, digest, who.actor, restored_from=position))
    return {"tag": tag, "digest": digest, "restored_from_position": position}
