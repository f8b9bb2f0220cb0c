"""GET routes for robot accounts and the permissions a robot may hold."""

import anyio.to_thread
import msgspec
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from domain.iam.roles import ROBOT_PROJECT_PERMISSIONS, ROBOT_SYSTEM_PERMISSIONS
from domain.iam.workload_trust import TrustPolicy
from infra.schemas.robot_trust import RobotTrustAnswer
from infra.schemas.harbor import Access, Permission, Permissions, Robot, RobotPermission
from infra.http.listing import BOOL, EVERY, INT, TIME, Key, Listing
from infra.http.rest import caller


def robot_resp(row) -> Robot:
    permissions = [RobotPermission(kind=g["kind"], namespace=g["namespace"],
                                   access=[Access(resource=r, action=a) for r, a in g["access"]])
                   for g in row.grants]
    return Robot(id=row.robot_id, name=row.name, description=row.description, level=row.level,
                 duration=row.duration_days, editable=True, disable=not row.enabled,
                 expires_at=row.expires_at, permissions=permissions, creator_type="local",
                 creation_time=row.created_at, update_time=row.updated_at)


# Harbor's keys `Level` and `ProjectID` (the guard resolves the project; the store filters both).
ROBOT_KEYS = Listing({"Level": Key(field="level"), "ProjectID": Key(INT), "name": Key(), "level": Key(),
                      "id": Key(INT), "description": Key(), "disable": Key(BOOL), "duration": Key(INT),
                      "expires_at": Key(INT), "creation_time": Key(TIME), "update_time": Key(TIME)})


@get("/api/v2.0/robots")
async def list_robots(request: Request, q: FromQuery[str | None] = None, sort: FromQuery[str | None] = None,
                      page: FromQuery[int] = 1, page_size: FromQuery[int] = 10) -> Response:
    """A project's robots (`q=ProjectID=<id>`), or every robot (system administrators)."""
    who = await caller(request)
    terms = who.target  # the parsed q, checked by the permission guard
    project = who.project.name if who.project is not None else None
    rows, _ = await anyio.to_thread.run_sync(who.registry.iam_queries.robots, 0, EVERY,
                                             terms.get("Level"), project)
    return ROBOT_KEYS.answer(request, [robot_resp(r) for r in rows], q, sort, page, page_size,
                             skip=("ProjectID", "Level"))


@get("/api/v2.0/robots/{robot_id:int}")
async def get_robot(request: Request, robot_id: int = Parameter()) -> Robot:
    who = await caller(request)
    return robot_resp(who.target)


@get("/api/v2.0/permissions")
async def robot_permissions(request: Request) -> Permissions:
    """The permissions that can be given to robots, at system and at project level."""
    return Permissions(system=[Permission(r, a) for r, a in ROBOT_SYSTEM_PERMISSIONS],
                       project=[Permission(r, a) for r, a in ROBOT_PROJECT_PERMISSIONS])


@get("/api/v2.0/robots/{robot_id:int}/trust")
async def get_robot_trust(request: Request, robot_id: int = Parameter()) -> RobotTrustAnswer:
    """The robot's trust policies (keyless CI robots, ADR 0045; a Tidemark extension)."""
    who = await caller(request)
    row = who.target
    stored = await anyio.to_thread.run_sync(who.registry.iam_queries.robot_trust, row.name)
    policies = [msgspec.convert(p, TrustPolicy) for p in stored[1]] if stored else []
    return RobotTrustAnswer(robot_id=row.robot_id, name=row.name, policies=policies)
