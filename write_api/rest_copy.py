"""Copying an artifact between repositories: `POST .../artifacts?from=<project>/<repo>@<digest>`
(or `:<tag>`); never into a proxy-cache project (403, as a push). Blobs are mounted, nothing is uploaded again; every step is an event."""

from typing import Annotated

import anyio.to_thread
from litestar import Request, Response, post
from litestar.params import Parameter, QueryParameter

from commands.artifacts.messages import MountBlob, PushManifest
from domain.iam.access import allows
from domain.errors import BadRequest, Denied, NotFound
from domain.artifacts.manifest_format import parse_manifest
from domain.names import check_repository, is_digest
from domain.proxy_cache import PUSH_REFUSED
from infra.proxy.lookup import proxy_project
from infra.http.resources import find_artifact, full_repository_name, project_for

BASE = "/api/v2.0/projects/{project_name:str}/repositories/{repository_name:str}/artifacts"


def _parse_from(value: str) -> tuple[str, str]:
    if "@" in value:
        repository, reference = value.split("@", 1)
    elif ":" in value:
        repository, reference = value.rsplit(":", 1)
    else:
        raise BadRequest("from must be <project>/<repository>@<digest> or <project>/<repository>:<tag>",
                         {"field": "from"})
    return check_repository(repository), reference


async def _copy(registry, source: str, target: str, digest: str, tag: str | None, actor) -> None:
    row = await anyio.to_thread.run_sync(registry.history.artifact, source, digest, None)
    if row is None:
        raise NotFound("source artifact not found", {"digest": digest})
    body = await anyio.to_thread.run_sync(registry.blobs.read, digest)
    parsed = parse_manifest(body, row.media_type)
    for child in parsed.manifests:
        await _copy(registry, source, target, child, None, actor)
    for blob in parsed.blobs:
        await registry.run_reachable(registry.commands.mount_blob, MountBlob(target, blob, source, actor))
    await registry.run_reachable(registry.commands.push_manifest,
                                 PushManifest(target, digest, len(body), parsed, tag, actor))


@post(BASE, status_code=201)
async def copy_artifact(request: Request, from_: Annotated[str, QueryParameter(name="from")],
                        project_name: str = Parameter(), repository_name: str = Parameter()) -> Response:
    who, project = await project_for(request)
    target = full_repository_name(project.name, repository_name)
    if await proxy_project(who.registry, target) is not None:  # its content comes from the upstream only
        raise Denied(PUSH_REFUSED, {"project": project.name})
    source, reference = _parse_from(from_)
    source_project = await anyio.to_thread.run_sync(who.registry.queries.project_by_key,
                                                    source.split("/", 1)[0], True)
    if source_project is None or not allows(who.principal, source_project.name, source_project.public,
                                            "repository", "pull"):
        raise NotFound("source artifact not found", {"from": from_[:300]})
    artifact = await find_artifact(who.registry, source, reference, None)
    tag = None if is_digest(reference) else reference
    await _copy(who.registry, source, target, artifact.digest, tag, who.actor)
    return Response(None, status_code=201, headers={
        "Location": f"/api/v2.0/projects/{project.name}/repositories/{repository_name}/artifacts/{artifact.digest}"})
