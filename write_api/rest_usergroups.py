"""Routes that change user groups (Harbor's `/usergroups`, system administrators, ADR 0041)."""

import anyio.to_thread
from litestar import Request, Response, delete, post, put
from litestar.params import JSONBody, Parameter

from commands.iam.groups import CreateUserGroup, DeleteUserGroup, RenameUserGroup
from domain.errors import BadRequest
from domain.iam.user_group import check_group_id
from infra.http.rest import caller
from infra.schemas.harbor import UserGroup


@post("/api/v2.0/usergroups", status_code=201)
async def create_user_group(request: Request, data: JSONBody[UserGroup | None] = None) -> Response:
    """A group of type 1 (LDAP: `ldap_group_dn` required and unique), 2 (HTTP) or 3 (OIDC);
    its name is unique within its type."""
    who = await caller(request)
    if data is None:
        raise BadRequest("a user group is required", {"field": "usergroup"})
    outcome = await who.registry.run(who.registry.groups.create_group, CreateUserGroup(
        data.group_name, data.group_type, data.ldap_group_dn, who.actor))
    return Response(None, status_code=201,
                    headers={"Location": f"/api/v2.0/usergroups/{outcome.group_id}"})


@put("/api/v2.0/usergroups/{group_id:int}")
async def update_user_group(request: Request, group_id: int = Parameter(),
                            data: JSONBody[UserGroup | None] = None) -> None:
    """Rename a group (the only change Harbor allows)."""
    who = await caller(request)
    check_group_id(group_id)
    if data is None or not data.group_name:
        raise BadRequest("group_name is required", {"field": "group_name"})
    await who.registry.run(who.registry.groups.rename_group,
                           RenameUserGroup(group_id, data.group_name, who.actor))


@delete("/api/v2.0/usergroups/{group_id:int}", status_code=200)
async def delete_user_group(request: Request, group_id: int = Parameter()) -> None:
    """Delete a group; its project memberships end with it (in the same save)."""
    who = await caller(request)
    check_group_id(group_id)
    projects = await anyio.to_thread.run_sync(who.registry.group_queries.projects_of_group, group_id)
    await who.registry.run(who.registry.groups.delete_group, DeleteUserGroup(group_id, who.actor, projects))


ROUTES = [create_user_group, update_user_group, delete_user_group]
