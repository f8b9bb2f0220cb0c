"""GET routes for users and the caller's own permissions."""

import anyio.to_thread
import msgspec
from litestar import Request, Response, get
from typing import Annotated

from litestar.params import FromQuery, Parameter, QueryParameter

from domain.iam.access import allows, sees_project, system_allows
from domain.errors import NotFound
from domain.iam.roles import MATRIX, PUBLIC_PROJECT
from infra.schemas.harbor import OIDCUserInfo, UserResp
from infra.http.listing import BOOL, EVERY, INT, TIME, Key, Listing
from infra.http.rest import caller, paged, paging
from infra.http.rest_guard import find_project


def user_resp(row, oidc=None) -> UserResp:
    """`oidc`: the user's OIDC identity (projections/iam_queries.py), for GET /users/current."""
    resp = UserResp(user_id=row.user_id, username=row.username, email=row.email, realname=row.realname,
                    comment=row.comment, sysadmin_flag=row.sysadmin,
                    admin_role_in_auth=bool(oidc and oidc.admin_by_group),
                    creation_time=row.created_at, update_time=row.updated_at, enabled=row.enabled)
    if oidc is not None:
        resp.oidc_user_meta = OIDCUserInfo(id=row.user_id, user_id=row.user_id,
                                           subiss=oidc.subject + oidc.issuer, secret="",
                                           creation_time=oidc.linked_at, update_time=oidc.updated_at)
    return resp


USER_KEYS = Listing({"username": Key(), "user_id": Key(INT), "email": Key(), "realname": Key(),
                     "comment": Key(), "sysadmin_flag": Key(BOOL), "enabled": Key(BOOL),
                     "creation_time": Key(TIME), "update_time": Key(TIME)})


@get("/api/v2.0/users")
async def list_users(request: Request, page: FromQuery[int] = 1, page_size: FromQuery[int] = 10,
                     username: FromQuery[str | None] = None, q: FromQuery[str | None] = None,
                     sort: FromQuery[str | None] = None) -> Response:
    """All users (system administrators, and robots granted user:list)."""
    who = await caller(request)
    rows, _ = await anyio.to_thread.run_sync(who.registry.iam_queries.users, 0, EVERY, username)
    return USER_KEYS.answer(request, [user_resp(r) for r in rows], q, sort, page, page_size)


@get("/api/v2.0/users/search")
async def search_users(request: Request, username: FromQuery[str], page: FromQuery[int] = 1, page_size: FromQuery[int] = 10) -> Response:
    """Find users by part of their name (any signed-in user), as Harbor's member dialog does."""
    who = await caller(request)
    offset, limit = paging(page, page_size)
    rows, total = await anyio.to_thread.run_sync(who.registry.iam_queries.users, offset, limit, username)
    return paged(request, [{"user_id": r.user_id, "username": r.username} for r in rows],
                 total, page, page_size)


@get("/api/v2.0/users/current")
async def current_user(request: Request) -> UserResp:
    who = await caller(request)
    queries = who.registry.iam_queries
    row = await anyio.to_thread.run_sync(queries.user, who.principal.name)
    if row is None:
        raise NotFound("user not found")
    # Harbor's admin_role_in_auth: an administrator by the directory's or provider's admin group
    resp = user_resp(row, await anyio.to_thread.run_sync(queries.oidc_user, who.principal.name))
    return msgspec.structs.replace(resp, admin_role_in_auth=resp.admin_role_in_auth or
                                   (who.principal.sysadmin and not row.sysadmin))


@get("/api/v2.0/users/current/permissions")
async def current_permissions(request: Request,
                              scope_: Annotated[str | None, QueryParameter(name="scope")] = None,
                              relative: FromQuery[bool] = False) -> list[dict]:
    """What the caller may do: in a project (`scope=/project/<id or name>`) or system wide."""
    who = await caller(request)
    scope = scope_
    if scope and scope.startswith("/project/"):
        key = scope[len("/project/"):].split("/", 1)[0]
        row = await find_project(who, key, None)
        if row is None or not sees_project(who.principal, row.name, row.public):
            raise NotFound("project not found", {"scope": scope[:300]})
        resources = {**MATRIX[1], **PUBLIC_PROJECT}
        prefix = "" if relative else f"/project/{row.project_id}/"
        return [{"resource": prefix + resource, "action": action}
                for resource, actions in sorted(resources.items()) for action in sorted(actions)
                if allows(who.principal, row.name, row.public, resource, action)]
    system = [("user", "list"), ("project", "create"), ("catalog", "read"), ("audit-log", "list")]
    return [{"resource": r, "action": a} for r, a in system if system_allows(who.principal, r, a)
            or ((r, a) == ("project", "create") and who.principal.kind == "user")]


@get("/api/v2.0/users/{user_id:int}")
async def get_user(request: Request, user_id: int = Parameter()) -> UserResp:
    who = await caller(request)
    return user_resp(who.target)
