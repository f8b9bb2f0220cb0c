"""Routes that define labels and put them on artifacts."""

import anyio.to_thread
import msgspec
from litestar import Request, Response, delete, post, put
from litestar.params import JSONBody, Parameter

from commands.label_handlers import ChangeLabel, LabelArtifact, PutLabel
from domain.errors import BadRequest, NotFound
from infra.http.rest import caller
from infra.http.rest_guard import label_right
from infra.http.resources import find_artifact, full_repository_name, project_for

ARTIFACT = "/api/v2.0/projects/{project_name:str}/repositories/{repository_name:str}/artifacts/{reference:str}"


@post("/api/v2.0/labels", status_code=201)
async def create_label(request: Request, data: JSONBody[dict]) -> Response:
    who = await caller(request)
    scope = data.get("scope", "g")
    await label_right(who, scope, data.get("project_id"), "create")
    project = who.project
    if not isinstance(data.get("name"), str):
        raise BadRequest("name is required", {"field": "name"})
    outcome = await who.registry.run(who.registry.label_commands.create_label, PutLabel(
        data["name"], str(data.get("description", "")), str(data.get("color", "")), scope,
        project.name if project else None, who.actor))
    return Response(None, status_code=201, headers={"Location": f"/api/v2.0/labels/{outcome.position}"})


async def _label(who, label_id: int):
    row = await anyio.to_thread.run_sync(who.registry.labels.label, label_id)
    if row is None:
        raise NotFound("label not found", {"label_id": label_id})
    return row


@put("/api/v2.0/labels/{label_id:int}")
async def update_label(request: Request, data: JSONBody[dict], label_id: int = Parameter()) -> None:
    who = await caller(request)
    row = who.target
    await who.registry.run(who.registry.label_commands.change_label, ChangeLabel(
        row.scope, row.project, row.name, str(data.get("description", row.description)),
        str(data.get("color", row.color)), False, who.actor))


@delete("/api/v2.0/labels/{label_id:int}", status_code=200)
async def delete_label(request: Request, label_id: int = Parameter()) -> None:
    who = await caller(request)
    row = who.target
    await who.registry.run(who.registry.label_commands.change_label, ChangeLabel(
        row.scope, row.project, row.name, row.description, row.color, True, who.actor))


class LabelReference(msgspec.Struct):
    """Harbor sends the whole label; only its id counts (a whole number, checked by Litestar)."""

    id: int


@post(ARTIFACT + "/labels", status_code=200)
async def add_artifact_label(request: Request, data: JSONBody[LabelReference], project_name: str = Parameter(),
                             repository_name: str = Parameter(), reference: str = Parameter()) -> None:
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    artifact = await find_artifact(who.registry, name, reference, None)
    label = await _label(who, data.id)
    if label.scope == "p" and label.project != project.name:
        raise BadRequest("a project label can only go on that project's artifacts", {"field": "id"})
    await who.registry.run(who.registry.label_commands.label_artifact,
                           LabelArtifact(name, artifact.digest, label.id, True, who.actor))


@delete(ARTIFACT + "/labels/{label_id:int}", status_code=200)
async def remove_artifact_label(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                                reference: str = Parameter(), label_id: int = Parameter()) -> None:
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    artifact = await find_artifact(who.registry, name, reference, None)
    await who.registry.run(who.registry.label_commands.label_artifact,
                           LabelArtifact(name, artifact.digest, label_id, False, who.actor))
