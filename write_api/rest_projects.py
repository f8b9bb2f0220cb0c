"""Routes that change projects and their members."""

import anyio.to_thread
import msgspec
from litestar import Request, Response, delete, post, put
from litestar.params import JSONBody, Parameter

from commands.iam.groups import AddGroupMember, ChangeGroupMemberRole, GroupRef, RemoveGroupMember
from commands.iam.messages import AddMember, ChangeMemberRole, DeleteProject, RemoveMember
from commands.artifacts.messages import CreateProject
from commands.policy_handlers import SetQuotaLimit
from commands.project_settings import Allowlist, ConfigureProject
from domain.project_settings import check_value
from domain.quota import UNLIMITED, check_limit
from domain.errors import BadRequest, NotFound
from infra.schemas.harbor import ProjectMember, ProjectReq, RoleRequest
from infra.http.rest import caller
from infra.http.rest_guard import require_sysadmin


def _metadata(data: ProjectReq) -> dict[str, object]:
    """The metadata keys a request sets (null is "not given"); the deprecated `public` flag
    counts where `metadata.public` is absent."""
    values = {} if data.metadata is None else {
        key: value for key, value in msgspec.structs.asdict(data.metadata).items() if value is not None}
    if "public" not in values and data.public is not None:
        values["public"] = "true" if data.public else "false"
    return values


def _allowlist(data: ProjectReq) -> Allowlist | None:
    if data.cve_allowlist is None:
        return None
    return Allowlist([item.cve_id for item in data.cve_allowlist.items], data.cve_allowlist.expires_at)


async def without_retention_id(who, project: str | None, values: dict[str, object]) -> dict[str, object]:
    """The metadata without `retention_id`, which the retention policy owns: sending back the
    value a GET showed is fine (a Terraform-like round trip), any other value is a 400."""
    if "retention_id" not in values:
        return values
    policy = None if project is None else await anyio.to_thread.run_sync(who.registry.retention.policy_of, project)
    current = str(policy.id) if policy is not None and policy.project_id == who.project.project_id else None
    if values["retention_id"] != current:
        check_value("retention_id", values["retention_id"])  # the 400 that says why
    return {key: value for key, value in values.items() if key != "retention_id"}


async def proxy_registry(who, registry_id: int | None) -> int:
    """The registry endpoint a new proxy-cache project proxies (0: an ordinary project); only
    system administrators make one (it pulls with the endpoint's credentials), as in Harbor."""
    if not registry_id:
        return 0
    require_sysadmin(who)
    setup = await anyio.to_thread.run_sync(who.registry.replication.current)
    if registry_id not in setup.registries:
        raise BadRequest(f"registry_id: no registry endpoint has id {registry_id}", {"field": "registry_id"})
    return registry_id


@post("/api/v2.0/projects", status_code=201)
async def create_project(request: Request, data: JSONBody[ProjectReq]) -> Response:
    """Any signed-in user may create a project and becomes its projectAdmin (only system
    administrators when `project_creation_restriction` is `adminonly`); without a
    `storage_limit` its quota is the configured `storage_per_project`."""
    who = await caller(request)
    if not data.project_name:
        raise BadRequest("project_name is required", {"field": "project_name"})
    owner = who.principal.name if who.principal.kind == "user" else None
    configured = await anyio.to_thread.run_sync(who.registry.configuration.values)
    if configured["project_creation_restriction"] == "adminonly":
        require_sysadmin(who)
    if data.storage_limit is not None:
        check_limit(data.storage_limit)
    elif configured["storage_per_project"] != UNLIMITED:
        data = msgspec.structs.replace(data, storage_limit=configured["storage_per_project"])
    metadata = await without_retention_id(who, None, _metadata(data))
    public = check_value("public", metadata.pop("public", "false")) == "true"
    registry_id = await proxy_registry(who, data.registry_id)
    outcome = await who.registry.run(who.registry.commands.create_project, CreateProject(
        data.project_name, public, who.actor, owner, metadata, _allowlist(data), registry_id))
    if data.storage_limit is not None:
        await who.registry.run(who.registry.policy.set_quota_limit,
                               SetQuotaLimit(data.project_name, data.storage_limit, who.actor))
    location = (f"/api/v2.0/projects/{data.project_name}"
                if request.headers.get("x-resource-name-in-location") == "true"
                else f"/api/v2.0/projects/{outcome.position}")
    return Response(None, status_code=201, headers={"Location": location})


@put("/api/v2.0/projects/{project_name_or_id:str}")
async def update_project(request: Request, data: JSONBody[ProjectReq], project_name_or_id: str = Parameter()) -> None:
    """A merge, as Harbor does: metadata keys not sent keep their values; a `cve_allowlist`
    sent replaces the project's."""
    who = await caller(request)
    project = who.project
    if data.registry_id is not None:  # sending back what a GET showed is fine; a change is not
        proxied = await anyio.to_thread.run_sync(who.registry.proxy.projects.of, project.name)
        if data.registry_id != (proxied.registry_id if proxied else 0):
            raise BadRequest("registry_id: a project's proxy registry cannot change", {"field": "registry_id"})
    metadata = await without_retention_id(who, project.name, _metadata(data))
    allowlist = _allowlist(data)
    if metadata or allowlist is not None:
        await who.registry.run(who.registry.settings_commands.configure,
                               ConfigureProject(project.name, metadata, who.actor, allowlist))


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
    if user is None:
        raise BadRequest("at least one of member_user or member_group must be provided", {"field": "member_user"})
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
    group = data.member_group
    if group is not None and data.member_user is not None:
        raise BadRequest("give member_user or member_group, not both", {"field": "member_group"})
    if group is not None:  # a user group (ADR 0041): by id, LDAP DN, or name and type
        outcome = await who.registry.run(who.registry.groups.add_group_member, AddGroupMember(
            project.name, GroupRef(group.id, group.group_name, group.group_type, group.ldap_group_dn),
            data.role_id, who.actor))
    else:
        name = await _member_name(who, data)
        outcome = await who.registry.run(who.registry.iam.add_member,
                                         AddMember(project.name, name, data.role_id, who.actor))
    return Response(None, status_code=201, headers={
        "Location": f"/api/v2.0/projects/{project.project_id}/members/{outcome.position}"})


async def _member(who, project, mid: int):
    """The member with id `mid` in this project: a user, or a group (a row with `group_id`)."""
    row = await anyio.to_thread.run_sync(who.registry.iam_queries.member_by_id, project.name, mid)
    if row is None:
        row = await anyio.to_thread.run_sync(who.registry.group_queries.member_by_id, project.name, mid)
    if row is None:
        raise NotFound("member not found", {"mid": mid})
    return row


@put("/api/v2.0/projects/{project_name_or_id:str}/members/{mid:int}")
async def change_role(request: Request, data: JSONBody[RoleRequest], project_name_or_id: str = Parameter(),
                      mid: int = Parameter()) -> None:
    who = await caller(request)
    project = who.project
    member = await _member(who, project, mid)
    if hasattr(member, "group_id"):
        await who.registry.run(who.registry.groups.change_group_member_role,
                               ChangeGroupMemberRole(project.name, member.group_id, data.role_id, who.actor))
        return
    await who.registry.run(who.registry.iam.change_member_role,
                           ChangeMemberRole(project.name, member.username, data.role_id, who.actor))


@delete("/api/v2.0/projects/{project_name_or_id:str}/members/{mid:int}", status_code=200)
async def remove_member(request: Request, project_name_or_id: str = Parameter(), mid: int = Parameter()) -> None:
    who = await caller(request)
    project = who.project
    member = await _member(who, project, mid)
    if hasattr(member, "group_id"):
        await who.registry.run(who.registry.groups.remove_group_member,
                               RemoveGroupMember(project.name, member.group_id, who.actor))
        return
    await who.registry.run(who.registry.iam.remove_member,
                           RemoveMember(project.name, member.username, who.actor))
