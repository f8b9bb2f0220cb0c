"""Setting a robot's trust policies (keyless CI robots, ADR 0045): who may update the robot
may change whose ID tokens stand in for its secret; the change is an event on the robot."""

import msgspec
from litestar import Request, put
from litestar.params import JSONBody, Parameter

from commands.iam.robot_trust import SetRobotTrust
from domain.iam.workload_trust import TrustPolicy
from infra.http.rest import caller
from infra.schemas.robot_trust import RobotTrust, RobotTrustAnswer


@put("/api/v2.0/robots/{robot_id:int}/trust")
async def set_robot_trust(request: Request, data: JSONBody[RobotTrust],
                          robot_id: int = Parameter()) -> RobotTrustAnswer:
    who = await caller(request)
    row = who.target  # the robot the id names now, and the caller's right to update it: the guard's
    allow_http = who.registry.settings.workload_issuer_allow_http_loopback
    await who.registry.run(who.registry.robot_trust.set_trust,
                           SetRobotTrust(row.name, data.policies, allow_http, who.actor))
    stored = who.registry.iam_queries.robot_trust(row.name)
    policies = [msgspec.convert(p, TrustPolicy) for p in stored[1]] if stored else []
    return RobotTrustAnswer(robot_id=row.robot_id, name=row.name, policies=policies)
