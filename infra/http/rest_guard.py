"""The permission guard: before any REST handler runs, the caller is identified once and the
route's need (infra/http/route_permissions.py) is checked. What the check looked up (the project,
the user, robot, label or retention policy the path names) is handed to the handler on the
Caller, so no handler looks it up again or checks again.

Which thing: a path names a project by name or id (Harbor's `X-Is-Resource-Name` applies to
that path reference only); a stored id (a retention policy's project, `?project_id=`) is only
ever looked up as an id.
"""

import re

import anyio.to_thread

from domain.iam.access import allows, sees_project, system_allows
from domain.errors import BadRequest, NotFound
from domain.history_window import Window, window_for
from domain.iam.robot import robot_name_project
from infra.http import route_permissions as rp
from infra.http.rest import Caller, caller

BY_NAME, BY_ID = True, False


def _is_name_header(who: Caller) -> bool | None:
    value = who.request.headers.get("x-is-resource-name")
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise BadRequest("X-Is-Resource-Name must be true or false", {"header": "X-Is-Resource-Name"})
    return value.lower() == "true"


def _as_id(value: str, what: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise BadRequest(f"{what} must be a project id (a positive integer)", {"project": value[:255]})
    return int(value)


async def find_project(who: Caller, key: str, is_name: bool | None):
    """The project row by name or id (None: an all-digits key is an id), or None."""
    queries = who.registry.queries
    if is_name is None:
        is_name = not (key.isascii() and key.isdigit())
    if is_name:
        return await anyio.to_thread.run_sync(queries.project_by_key, key, True)
    return await anyio.to_thread.run_sync(queries.project_by_key, str(_as_id(key, "the project")), False)


def check_project(who: Caller, row, resource: str, action: str, key: object = None):
    """The project, if the caller may do (resource, action) in it; 404 when it does not exist,
    else Harbor's refusal: 401 for an anonymous caller, 403 for a signed-in one (also when it
    is a private project the caller may not see: its existence is no secret, ADR 0018)."""
    if row is None:
        raise NotFound("project not found", {"project": str(key if key is not None else "")[:255]})
    if not sees_project(who.principal, row.name, row.public):
        raise who.refuse("not a member of the project")
    if not allows(who.principal, row.name, row.public, resource, action):
        raise who.refuse()
    who.project = row
    return row


async def project_by_id(who: Caller, project_id: int, resource: str, action: str):
    """For a stored project id (a policy's, a body's `scope.ref`, `?project_id=`)."""
    row = await anyio.to_thread.run_sync(who.registry.queries.project_by_key, str(project_id), False)
    return check_project(who, row, resource, action, project_id)


async def _project_need(who: Caller, need: rp.Need, params: dict) -> None:
    if need.via == rp.PATH:
        key = params["project_name_or_id"]
        row = await find_project(who, key, _is_name_header(who))
        check_project(who, row, need.resource, need.action, key)
    elif need.via == rp.PATH_NAME:
        key = params["project_name"]
        check_project(who, await find_project(who, key, BY_NAME), need.resource, need.action, key)
    elif need.via == rp.RETENTION:
        policy = await anyio.to_thread.run_sync(who.registry.retention.policy, params["policy_id"])
        if policy is None:
            raise NotFound("retention policy not found", {"id": params["policy_id"]})
        await project_by_id(who, policy.project_id, need.resource, need.action)
        who.target = policy
    elif need.via == rp.BODY:
        who.require_login()  # the handler checks the project the body names
    else:
        raise AssertionError(f"no project locator {need.via!r}")


def require_sysadmin(who: Caller) -> None:
    """A system administrator: a user with the flag (no robot permission implies it)."""
    principal = who.principal
    if not (principal.kind == "user" and principal.sysadmin and principal.usable()):
        raise who.refuse("system administrator rights required")


async def _self_registration(who: Caller) -> bool:
    """Whether anyone may sign up (the `self_registration` configuration key, Harbor's)."""
    return await anyio.to_thread.run_sync(who.registry.configuration.value, "self_registration")


async def _self_need(who: Caller, need: rp.Need, params: dict) -> None:
    who.require_login()
    row = await anyio.to_thread.run_sync(who.registry.iam_queries.user_by_id, params["user_id"])
    own = row is not None and who.principal.kind == "user" and row.username == who.principal.name
    if not own:
        if not (need.resource and system_allows(who.principal, need.resource, need.action)):
            require_sysadmin(who)
        if row is None:
            raise NotFound("user not found", {"user_id": params["user_id"]})
    who.target = row


def robot_project(row) -> str | None:
    """The project of a project-level robot (from its name), None for a system robot."""
    return robot_name_project(row.name) if row.level == "project" else None


async def robot_right(who: Caller, project: str | None, action: str) -> None:
    """System robots are managed by system administrators; project robots by those who hold
    the project's (robot, action) permission."""
    who.require_login()
    if project is None:
        require_sysadmin(who)
        return
    check_project(who, await find_project(who, project, BY_NAME), "robot", action, project)


def robot_query(q: str | None) -> dict[str, str]:
    """Harbor's robot list filter `q=Level=project,ProjectID=3`."""
    terms: dict[str, str] = {}
    for part in (q or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise BadRequest(f"cannot parse query term {part[:50]!r}: expected key=value", {"field": "q"})
        terms[key.strip()] = value.strip()
    return terms


async def _robot_need(who: Caller, need: rp.Need, params: dict) -> None:
    if need.via == rp.BODY:
        who.require_login()
        return
    if "robot_id" not in params:  # the list: ?q=ProjectID=<id> lists a project's robots
        terms = robot_query(who.request.query_params.get("q"))
        if "ProjectID" in terms:
            await project_by_id(who, _as_id(terms["ProjectID"], "ProjectID"), "robot", need.action)
        else:
            require_sysadmin(who)
        who.target = terms
        return
    who.require_login()
    row = await anyio.to_thread.run_sync(who.registry.iam_queries.robot_by_id, params["robot_id"])
    if row is None:
        raise NotFound("robot not found", {"robot_id": params["robot_id"]})
    await robot_right(who, robot_project(row), need.action)
    who.target = row


async def label_right(who: Caller, scope: str, project_id: object, action: str) -> None:
    """Global labels: readable by every signed-in caller, changed with the system label right;
    project labels: the project's label right (the project by id)."""
    who.require_login()
    if scope == "g":
        if action not in ("read", "list") and not system_allows(who.principal, "label", action):
            raise who.refuse("system label rights required")
        return
    if scope != "p" or project_id is None:
        raise BadRequest("scope must be g, or p with a project_id", {"field": "scope"})
    if isinstance(project_id, bool) or not isinstance(project_id, (int, str)):
        raise BadRequest("project_id must be a project id", {"field": "project_id"})
    await project_by_id(who, _as_id(str(project_id), "project_id"), "label", action)


async def _label_need(who: Caller, need: rp.Need, params: dict) -> None:
    if need.via == rp.BODY:
        who.require_login()
        return
    if "label_id" not in params:
        query = who.request.query_params
        await label_right(who, query.get("scope", "g"), query.get("project_id"), need.action)
        return
    who.require_login()
    row = await anyio.to_thread.run_sync(who.registry.labels.label, params["label_id"])
    if row is None:
        raise NotFound("label not found", {"label_id": params["label_id"]})
    if row.scope == "g":
        await label_right(who, "g", None, need.action)
    else:
        check_project(who, await find_project(who, row.project, BY_NAME), "label", need.action, row.project)
    who.target = row


async def enforce(who: Caller, need: rp.Need, params: dict) -> None:
    scope = need.scope
    if scope in (rp.PUBLIC, rp.OCI):
        return
    if scope == rp.LOGIN:
        who.require_login()
    elif scope == rp.USER:
        who.require_login()
        if who.principal.kind != "user":
            raise who.refuse("robots have no user profile")
    elif scope == rp.SYSADMIN:
        if need.via == rp.SIGN_UP and who.principal.anonymous and await _self_registration(who):
            return
        require_sysadmin(who)
    elif scope == rp.SYSTEM:
        if need.any_user and who.principal.kind == "user" and who.principal.usable():
            return
        if not system_allows(who.principal, need.resource, need.action):
            raise who.refuse(f"{need.resource}:{need.action} at system level required")
    elif scope == rp.PROJECT:
        await _project_need(who, need, params)
    elif scope == rp.SELF:
        await _self_need(who, need, params)
    elif scope == rp.ROBOT:
        await _robot_need(who, need, params)
    elif scope == rp.LABEL:
        await _label_need(who, need, params)
    else:
        raise AssertionError(f"unknown scope {scope!r}")


async def permission_guard(connection, route_handler) -> None:
    """Litestar guard on every REST route: the need the table gives the route, enforced.
    Public routes identify their caller themselves, if they need to (the token service checks
    the credentials it is given, once)."""
    need = route_handler.opt["need"]
    if need.scope in (rp.PUBLIC, rp.OCI):
        return
    await enforce(await caller(connection), need, connection.path_params)


def route_key(path: str) -> str:
    """A path template without parameter types: `/users/{user_id:int}` -> `/users/{user_id}`."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def guard_routes(handlers) -> None:
    """Give every handler its need from the table and the guard that enforces it; a handler
    whose route is not in the table stops the app from being built."""
    for handler in handlers:
        needs = {rp.need_for(method, route_key(path))
                 for path in handler.paths for method in handler.http_methods if method != "OPTIONS"}
        if None in needs or len(needs) != 1:
            raise RuntimeError(f"route {sorted(handler.http_methods)} {sorted(handler.paths)} has no single "
                               "entry in infra/http/route_permissions.py")
        handler.opt["need"] = needs.pop()
        if permission_guard not in (handler.guards or ()):
            handler.guards = [*(handler.guards or ()), permission_guard]


async def history_window(who: Caller) -> Window:
    """The part of the path's project's history the caller may read (domain/history_window.py)."""
    project = who.project
    periods = who.registry.project_periods
    return await anyio.to_thread.run_sync(
        window_for, who.principal, project.name, project.public, project.project_id,
        lambda: periods.public_since(project.name, project.project_id))


async def position_in_window(who: Caller, at: str | None, field: str = "at") -> int | None:
    """`at` (a log position or an RFC 3339 time) as a position in the path's project's history,
    None for now; 404 for a moment before this project existed (a deleted project of the same
    name is not this one) or, for callers who see it only because it is public, a moment it
    was private. Errors name `field`, the parameter `at` came in."""
    position = await anyio.to_thread.run_sync(who.registry.history.resolve_at, at, field)
    if position is not None and not (await history_window(who)).covers(position):
        raise NotFound(f"{field}: the project did not exist at that moment, or was not visible to "
                       "you then", {field: str(at)[:64]})
    return position
