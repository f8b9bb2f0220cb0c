"""GET routes for robot accounts and the permissions a robot may hold."""

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from domain.iam.roles import ROBOT_PROJECT_PERMISSIONS, ROBOT_SYSTEM_PERMISSIONS
from infra.schemas.harbor import Access, Permission, Permissions, Robot, RobotPermission
from infra.http.rest import caller, paged, paging


def robot_resp(row) -> Robot:
    permissions = [RobotPermission(kind=g["kind"], namespace=g["namespace"],
                                   access=[Access(resource=r, action=a) for r, a in g["access"]])
                   for g in row.grants]
    return Robot(id=row.robot_id, name=row.name, description=row.description, level=row.level,
                 duration=row.duration_days, editable=True, disable=not row.enabled,
                 expires_at=row.expires_at, permissions=permissions, creator_type="local",
                 creation_time=row.created_at, update_time=row.updated_at)


@get("/api/v2.0/robots")
async def list_robots(request: Request, q: FromQuery[str | None] = None, page: FromQuery[int] = 1, page_size: FromQuery[int] = 10) -> Response:
    """A project's robots (`q=ProjectID=<id>`), or every robot (system administrators)."""
    who = await caller(request)
    terms = who.target  # the parsed q, checked by the permission guard
    project = who.project.name if who.project is not None else None
    offset, limit = paging(page, page_size)
    rows, total = await anyio.to_thread.run_sync(who.registry.iam_queries.robots, offset, limit,
                                                 terms.get("Level"), project)
    return paged(request, [robot_resp(r) for r in rows], total, page, page_size)


@get("/api/v2.0/robots/{robot_id:int}")
async def get_robot(request: Request, robot_id: int = Parameter()) -> Robot:
    who = await caller(request)
    return robot_resp(who.target)


@get("/api/v2.0/permissions")
async def robot_permissions(request: Request) -> Permissions:
    """The permissions that can be given to robots, at system and at project level."""
    return Permissions(system=[Permission(r, a) for r, a in ROBOT_SYSTEM_PERMISSIONS],
                       project=[Permission(r, a) for r, a in ROBOT_PROJECT_PERMISSIONS])
