"""Routes that change projects and their members."""

import anyio.to_thread
from litestar import Request, Response, delete, post, put
from litestar.params import JSONBody, Parameter

from commands.iam.messages import AddMember, ChangeMemberRole, DeleteProject, RemoveMember, SetProjectPublic
from commands.artifacts.messages import CreateProject
from commands.policy_handlers import SetQuotaLimit
from domain.quota import check_limit
from domain.errors import BadRequest, NotFound
from infra.schemas.harbor import ProjectMember, ProjectReq, RoleRequest
from infra.http.rest import caller


def _public_flag(data: JSONBody[ProjectReq]) -> bool | None:
    if data.metadata is not None and data.metadata.public is not None:
        if data.metadata.public not in ("true", "false"):
            raise BadRequest("metadata.public must be \"true\" or \"false\"", {"field": "metadata.public"})
        return data.metadata.public == "true"
    return data.public


@post("/api/v2.0/projects", status_code=201)
async def create_project(request: Request, data: JSONBody[ProjectReq]) -> Response:
    """Any signed-in user may create a project and becomes its projectAdmin."""
    who = await caller(request)
    if not data.project_name:
        raise BadRequest("project_name is required", {"field": "project_name"})
    owner = who.principal.name if who.principal.kind == "user" else None
    if data.storage_limit is not None:
        check_limit(data.storage_limit)
    outcome = await who.registry.run(who.registry.commands.create_project, CreateProject(
        data.project_name, bool(_public_flag(data)), who.actor, owner))
    if data.storage_limit is not None:
        await who.registry.run(who.registry.policy.set_quota_limit,
                               SetQuotaLimit(data.project_name, data.storage_limit, who.actor))
    location = (f"/api/v2.0/projects/{data.project_name}"
                if request.headers.get("x-resource-name-in-location") == "true"
                else f"/api/v2.0/projects/{outcome.position}")
    return Response(None, status_code=201, headers={"Location": location})


@put("/api/v2.0/projects/{project_name_or_id:str}")
async def update_project(request: Request, data: JSONBody[ProjectReq], project_name_or_id: str = Parameter()) -> None:
    who = await caller(request)
    project = who.project
    public = _public_flag(data)
    if public is not None:
        await who.registry.run(who.registry.iam.set_project_public,
                               SetProjectPublic(project.name, public, who.actor))


@delete("/api/v2.0/projects/{project_name_or_id:str}", status_code=200)
async def delete_project(request: Request, project_name_or_id: str = Parameter()) -> None:
    who = await caller(request)
    project = who.project
    robots, _ = await anyio.to_thread.run_sync(who.registry.iam_queries.robots, 0, 1_000_000, "project",
                                               project.name)
    await who.registry.run(who.registry.iam.delete_project, DeleteProject(
        project.name, project.repo_count, who.actor, [r.name for r in robots]))


async def _member_name(who, data: JSONBody[ProjectMember]) -> str:
    user = data.member_user
    if data.member_group is not None or user is None:
        raise BadRequest("only member_user is supported (no user groups)", {"field": "member_group"})
    if user.username:
        return user.username
    if user.user_id is not None:
        row = await anyio.to_thread.run_sync(who.registry.iam_queries.user_by_id, user.user_id)
        if row is None:
            raise NotFound("user not found", {"user_id": user.user_id})
        return row.username
    raise BadRequest("member_user needs user_id or username", {"field": "member_user"})


@post("/api/v2.0/projects/{project_name_or_id:str}/members", status_code=201)
async def add_member(request: Request, data: JSONBody[ProjectMember], project_name_or_id: str = Parameter()) -> Response:
    who = await caller(request)
    project = who.project
    name = await _member_name(who, data)
    outcome = await who.registry.run(who.registry.iam.add_member,
                                     AddMember(project.name, name, data.role_id, who.actor))
    return Response(None, status_code=201, headers={
        "Location": f"/api/v2.0/projects/{project.project_id}/members/{outcome.position}"})


async def _member(who, project, mid: int):
    row = await anyio.to_thread.run_sync(who.registry.iam_queries.member_by_id, project.name, mid)
    if row is None:
        raise NotFound("member not found", {"mid": mid})
    return row


@put("/api/v2.0/projects/{project_name_or_id:str}/members/{mid:int}")
async def change_role(request: Request, data: JSONBody[RoleRequest], project_name_or_id: str = Parameter(),
                      mid: int = Parameter()) -> None:
    who = await caller(request)
    project = who.project
    member = await _member(who, project, mid)
    await who.registry.run(who.registry.iam.change_member_role,
                           ChangeMemberRole(project.name, member.username, data.role_id, who.actor))


@delete("/api/v2.0/projects/{project_name_or_id:str}/members/{mid:int}", status_code=200)
async def remove_member(request: Request, project_name_or_id: str = Parameter(), mid: int = Parameter()) -> None:
    who = await caller(request)
    project = who.project
    member = await _member(who, project, mid)
    await who.registry.run(who.registry.iam.remove_member,
                           RemoveMember(project.name, member.username, who.actor))
