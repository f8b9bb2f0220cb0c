"""Routes that change robot accounts. A secret is shown once: at creation or refresh."""

import anyio.to_thread
from litestar import Request, Response, delete, patch, post, put
from litestar.params import JSONBody, Parameter

from commands.iam.messages import CreateRobot, DeleteRobot, RefreshRobotSecret, UpdateRobot
from domain.iam.access import ungrantable
from domain.errors import BadRequest
from domain.iam.robot import Grant, check_grants, full_robot_name
from infra.schemas.harbor import RobotCreate, RobotCreated, RobotSec, RobotUpdate
from infra.http.rest import Caller, caller
from infra.http.rest_guard import robot_project, robot_right


def _grants(permissions) -> list[Grant]:
    return [Grant(kind=p.kind, namespace=p.namespace,
                  access=[(a.resource, a.action) for a in p.access if a.effect != "deny"])
            for p in permissions]


def _project_of(data) -> str | None:
    if data.level != "project":
        return None
    namespaces = {p.namespace for p in data.permissions}
    if len(namespaces) != 1:
        raise BadRequest("a project robot names exactly one project in its permissions",
                         {"field": "permissions.namespace"})
    return namespaces.pop()


async def _grantable(who: Caller, grants: list[Grant], level: str) -> list[Grant]:
    """The grants, if they are permissions a robot of that level can hold and the caller holds
    every one of them: nobody (user or robot) gives a robot more than they have."""
    check_grants(grants, level)
    def public_of(name: str) -> bool | None:
        row = who.registry.queries.project(name)
        return None if row is None else row.public
    missing = await anyio.to_thread.run_sync(ungrantable, who.principal, grants, public_of)
    if missing is not None:
        namespace, resource, action = missing
        raise who.refuse(f"cannot grant {resource}:{action} on {namespace}: the caller does not hold it")
    return grants


@post("/api/v2.0/robots", status_code=201)
async def create_robot(request: Request, data: JSONBody[RobotCreate]) -> Response:
    who = await caller(request)
    project = _project_of(data)
    await robot_right(who, project, "create")
    configured = await anyio.to_thread.run_sync(who.registry.configuration.values)
    name = full_robot_name(data.name, data.level, project, configured["robot_name_prefix"])
    duration = data.duration or configured["robot_token_duration"]  # 0: the system default (Harbor)
    grants = await _grantable(who, _grants(data.permissions), data.level)
    created = await who.registry.run(who.registry.iam.create_robot, CreateRobot(
        name, data.level, data.description, grants, duration, data.secret, who.actor))
    row = who.registry.iam_queries.robot(name)
    body = RobotCreated(id=created.position, name=name, secret=created.secret,
                        creation_time=row.created_at, expires_at=row.expires_at)
    return Response(body, status_code=201, headers={"Location": f"/api/v2.0/robots/{created.position}"})


@put("/api/v2.0/robots/{robot_id:int}")
async def update_robot(request: Request, data: JSONBody[RobotUpdate], robot_id: int = Parameter()) -> None:
    who = await caller(request)
    row = who.target
    if data.level != row.level or _project_of(data) != robot_project(row):
        raise BadRequest("a robot's level and project cannot change", {"field": "level"})
    grants = await _grantable(who, _grants(data.permissions), data.level)
    await who.registry.run(who.registry.iam.update_robot, UpdateRobot(
        row.name, data.description, grants, data.duration, not data.disable, who.actor))


@patch("/api/v2.0/robots/{robot_id:int}")
async def refresh_secret(request: Request, data: JSONBody[RobotSec], robot_id: int = Parameter()) -> RobotSec:
    """A new secret (given, or generated when none is sent); the old one stops working."""
    who = await caller(request)
    row = who.target
    created = await who.registry.run(who.registry.iam.refresh_robot_secret,
                                     RefreshRobotSecret(row.name, data.secret, who.actor))
    return RobotSec(secret=created.secret)


@delete("/api/v2.0/robots/{robot_id:int}", status_code=200)
async def delete_robot(request: Request, robot_id: int = Parameter()) -> None:
    who = await caller(request)
    row = who.target
    await who.registry.run(who.registry.iam.delete_robot, DeleteRobot(row.name, who.actor))
