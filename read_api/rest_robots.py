"""GET routes for robot accounts and the permissions a robot may hold."""

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from domain.access import allows
from domain.errors import BadRequest, NotFound
from domain.robot import PREFIX
from domain.roles import ROBOT_PROJECT_PERMISSIONS, ROBOT_SYSTEM_PERMISSIONS
from infra.harbor_schemas import Access, Permission, Permissions, Robot, RobotPermission
from infra.rest import Caller, caller, paged, paging


def robot_project(row) -> str | None:
    return row.name[len(PREFIX):].split("+", 1)[0] if row.level == "project" else None


async def require_robot_right(who: Caller, project: str | None, action: str) -> None:
    """System robots need an administrator; project robots the project's robot permission."""
    who.require_login()
    if project is None:
        who.require_sysadmin()
        return
    row = await anyio.to_thread.run_sync(who.registry.queries.project_by_key, project, True)
    if row is None:
        raise NotFound("project not found", {"project": project})
    if not allows(who.principal, row.name, row.public, "robot", action):
        raise who.refuse()


def robot_resp(row) -> Robot:
    permissions = [RobotPermission(kind=g["kind"], namespace=g["namespace"],
                                   access=[Access(resource=r, action=a) for r, a in g["access"]])
                   for g in row.grants]
    return Robot(id=row.robot_id, name=row.name, description=row.description, level=row.level,
                 duration=row.duration_days, editable=True, disable=not row.enabled,
                 expires_at=row.expires_at, permissions=permissions, creator_type="local",
                 creation_time=row.created_at, update_time=row.updated_at)


async def robot_by_id(who: Caller, robot_id: int, action: str):
    row = await anyio.to_thread.run_sync(who.registry.iam_queries.robot_by_id, robot_id)
    if row is None:
        raise NotFound("robot not found", {"robot_id": robot_id})
    await require_robot_right(who, robot_project(row), action)
    return row


def _parse_q(q: FromQuery[str | None]) -> dict[str, str]:
    terms: dict[str, str] = {}
    for part in (q or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise BadRequest(f"cannot parse query term {part[:50]!r}: expected key=value", {"field": "q"})
        terms[key.strip()] = value.strip()
    return terms


@get("/api/v2.0/robots")
async def list_robots(request: Request, q: FromQuery[str | None] = None, page: FromQuery[int] = 1, page_size: FromQuery[int] = 10) -> Response:
    who = await caller(request)
    terms = _parse_q(q)
    project = None
    if "ProjectID" in terms:
        row = await anyio.to_thread.run_sync(who.registry.queries.project_by_key, terms["ProjectID"])
        if row is None:
            raise NotFound("project not found")
        project = row.name
    await require_robot_right(who, project, "list")
    offset, limit = paging(page, page_size)
    rows, total = await anyio.to_thread.run_sync(who.registry.iam_queries.robots, offset, limit,
                                                 terms.get("Level"), project)
    return paged(request, [robot_resp(r) for r in rows], total, page, page_size)


@get("/api/v2.0/robots/{robot_id:int}")
async def get_robot(request: Request, robot_id: int = Parameter()) -> Robot:
    who = await caller(request)
    return robot_resp(await robot_by_id(who, robot_id, "read"))


@get("/api/v2.0/permissions")
async def robot_permissions(request: Request) -> Permissions:
    """The permissions that can be given to robots, at system and at project level."""
    who = await caller(request)
    who.require_login()
    return Permissions(system=[Permission(r, a) for r, a in ROBOT_SYSTEM_PERMISSIONS],
                       project=[Permission(r, a) for r, a in ROBOT_PROJECT_PERMISSIONS])
