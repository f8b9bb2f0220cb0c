"""GET routes for user groups (Harbor's `/usergroups`, ADR 0041)."""

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from domain.errors import BadRequest, NotFound
from domain.iam.user_group import HTTP_GROUP, LDAP_GROUP, check_group_id
from infra.http.rest import caller, paged, paging
from infra.schemas.harbor import UserGroupResp, UserGroupSearchItem

# Under these sign-in modes Harbor lists only the groups of that mode.
GROUP_TYPE_OF_MODE = {"ldap_auth": LDAP_GROUP, "http_auth": HTTP_GROUP}


def group_resp(row) -> UserGroupResp:
    return UserGroupResp(id=row.group_id, group_name=row.group_name, group_type=row.group_type,
                         ldap_group_dn=row.ldap_group_dn)


@get("/api/v2.0/usergroups")
async def list_user_groups(request: Request, page: FromQuery[int] = 1, page_size: FromQuery[int] = 10,
                           ldap_group_dn: FromQuery[str | None] = None,
                           group_name: FromQuery[str | None] = None) -> Response:
    """User groups (system administrators): `group_name` matched in part, `ldap_group_dn`
    exactly (in any case); under LDAP sign-in only LDAP groups, under HTTP sign-in only HTTP
    groups, as Harbor (which reads `ldap_group_dn` only under LDAP sign-in)."""
    who = await caller(request)
    offset, limit = paging(page, page_size)
    configured = await anyio.to_thread.run_sync(who.registry.configuration.values)
    group_type = GROUP_TYPE_OF_MODE.get(configured["auth_mode"])
    rows, total = await anyio.to_thread.run_sync(who.registry.group_queries.groups, offset, limit,
                                                 group_name, ldap_group_dn, group_type)
    return paged(request, [group_resp(r) for r in rows], total, page, page_size)


@get("/api/v2.0/usergroups/search")
async def search_user_groups(request: Request, groupname: FromQuery[str | None] = None,
                             page: FromQuery[int] = 1, page_size: FromQuery[int] = 10) -> Response:
    """Groups whose name holds `groupname` (any signed-in caller, as Harbor's member dialog)."""
    who = await caller(request)
    if not groupname:
        raise BadRequest("need to provide groupname to search user group", {"field": "groupname"})
    offset, limit = paging(page, page_size)
    rows, total = await anyio.to_thread.run_sync(who.registry.group_queries.groups, offset, limit, groupname)
    items = [UserGroupSearchItem(id=r.group_id, group_name=r.group_name, group_type=r.group_type) for r in rows]
    return paged(request, items, total, page, page_size)


@get("/api/v2.0/usergroups/{group_id:int}")
async def get_user_group(request: Request, group_id: int = Parameter()) -> UserGroupResp:
    who = await caller(request)
    row = await anyio.to_thread.run_sync(who.registry.group_queries.group, check_group_id(group_id))
    if row is None:
        raise NotFound(f"the user group with id {group_id} is not found", {"group_id": group_id})
    return group_resp(row)


ROUTES = [list_user_groups, search_user_groups, get_user_group]
