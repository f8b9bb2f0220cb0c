"""Setting a robot's trust policies (keyless CI robots, ADR 0045)."""

import msgspec

from commands.application import RegistryApplication
from commands.artifacts.messages import Outcome
from commands.retries import retried
from domain.base import Actor
from domain.errors import NotFound
from domain.iam.robot import Robot, robot_id
from domain.iam.workload_trust import TrustPolicy


class SetRobotTrust(msgspec.Struct, frozen=True):
    name: str  # the robot's full name
    policies: list[TrustPolicy]
    allow_http_loopback: bool  # the setting workload_issuer_allow_http_loopback (tests)
    actor: Actor


class RobotTrustCommands:
    def __init__(self, app: RegistryApplication) -> None:
        self.app = app

    @retried
    def set_trust(self, c: SetRobotTrust) -> Outcome:
        """Replace the robot's trust policies; the outcome's position is None when nothing
        changed (the same policies again record nothing)."""
        robot = self.app.find(robot_id(c.name), Robot)
        if robot is None or robot.deleted:
            raise NotFound("robot not found", {"name": c.name})
        robot.set_trust(c.policies, c.allow_http_loopback, c.actor)
        recordings = self.app.save(robot)
        return Outcome(position=max((r.notification.id for r in recordings), default=None))
