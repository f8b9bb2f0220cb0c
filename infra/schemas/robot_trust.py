"""Wire shapes of a robot's trust policies (keyless CI robots, ADR 0045): a Tidemark extension
beside Harbor's robot, at `/api/v2.0/robots/{robot_id}/trust`."""

import msgspec

from domain.iam.workload_trust import TrustPolicy


class RobotTrust(msgspec.Struct, forbid_unknown_fields=True):
    """The outside OIDC issuers whose ID tokens a CI job may present instead of the robot's
    secret. `policies` replaces the list; an empty list trusts none."""

    policies: list[TrustPolicy] = []


class RobotTrustAnswer(msgspec.Struct):
    robot_id: int
    name: str
    policies: list[TrustPolicy]
