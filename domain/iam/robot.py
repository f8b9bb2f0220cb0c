"""A robot account: a named machine identity with an explicit permission list.

Names are `<prefix><name>` (system level) or `<prefix><project>+<name>` (project
level), the prefix being the system configuration's `robot_name_prefix` when the robot was
made (`robot$` unless changed; it always ends with `$`, which no user, project or robot name
holds): so a name with a `$` is a robot's, and what follows its `$` says its project. A
robot keeps its name when the prefix changes. The secret is never recorded; only that one
was set or refreshed.
"""

import re

import msgspec

from domain.base import Actor, RegistryAggregate
from domain.errors import BadRequest, Conflict
from domain.names import check_project, check_text, stream_id
from domain.iam.roles import ROBOT_PROJECT_PERMISSIONS, ROBOT_SYSTEM_PERMISSIONS
from domain.iam.workload_trust import TrustPolicy, check_trust

ROBOT_NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
PREFIX = "robot$"


class Grant(msgspec.Struct, frozen=True):
    """Permissions over one project (`namespace`), or every project (`*`), or the system."""

    kind: str  # "project" or "system"
    namespace: str
    access: list[tuple[str, str]]


def robot_id(full_name: str):
    return stream_id("robot", full_name)


def is_robot_name(name: str) -> bool:
    """Whether a sign-in name is a robot's (only robot names hold a `$`)."""
    return "$" in name


def robot_name_project(name: str) -> str | None:
    """The project named in a project robot's name, None for a system robot's."""
    rest = name.partition("$")[2]
    return rest.split("+", 1)[0] if "+" in rest else None


def project_robots_pattern(project: str) -> str:
    """A SQL LIKE pattern (escape character `!`) for the names of the project's robots."""
    escaped = project.replace("!", "!!").replace("_", "!_").replace("%", "!%")
    return "%$" + escaped + "+%"


def full_robot_name(name: str, level: str, project: str | None, prefix: str = PREFIX) -> str:
    if not ROBOT_NAME.fullmatch(name) or len(name) > 128:
        raise BadRequest("robot name must be lower case letters, digits and . _ -", {"field": "name"})
    if level == "system":
        return f"{prefix}{name}"
    if level == "project":
        return f"{prefix}{check_project(project or '')}+{name}"
    raise BadRequest("level must be system or project", {"field": "level"})


def check_grants(grants: list[Grant], level: str) -> list[Grant]:
    if not grants:
        raise BadRequest("a robot needs at least one permission", {"field": "permissions"})
    allowed_project = set(ROBOT_PROJECT_PERMISSIONS)
    allowed_system = set(ROBOT_SYSTEM_PERMISSIONS)
    for grant in grants:
        if grant.kind not in ("project", "system"):
            raise BadRequest("permission kind must be project or system", {"field": "permissions.kind"})
        if level == "project" and (grant.kind != "project" or grant.namespace == "*"):
            raise BadRequest("a project robot may only hold permissions on its own project",
                             {"field": "permissions"})
        if grant.kind == "project" and grant.namespace != "*":
            check_project(grant.namespace)
        allowed = allowed_project if grant.kind == "project" else allowed_system
        for resource, action in grant.access:
            if (resource, action) not in allowed:
                raise BadRequest(f"permission {resource}:{action} cannot be given to a robot",
                                 {"field": "permissions.access"})
    return grants


class Robot(RegistryAggregate):
    class Created(RegistryAggregate.Created):
        """A robot account was created with its permissions (its secret is not recorded)."""

        name: str
        level: str
        description: str
        grants: list[dict]
        duration_days: int
        expires_at: int  # epoch seconds, -1 for never

    class Recreated(RegistryAggregate.Event):
        """A robot was created again under the name of a deleted one."""

        name: str
        level: str
        description: str
        grants: list[dict]
        duration_days: int
        expires_at: int

        def apply(self, robot: "Robot") -> None:
            robot.__init__(self.name, self.level, self.description, self.grants,
                           self.duration_days, self.expires_at)

    class SecretRefreshed(RegistryAggregate.Event):
        """A robot's secret was replaced; the old one stopped working."""

        name: str

    class Updated(RegistryAggregate.Event):
        """A robot's description, permissions or expiry changed."""

        name: str
        description: str
        grants: list[dict]
        duration_days: int
        expires_at: int

        def apply(self, robot: "Robot") -> None:
            robot.description, robot.grants = self.description, self.grants
            robot.duration_days, robot.expires_at = self.duration_days, self.expires_at

    class EnabledChanged(RegistryAggregate.Event):
        """A robot was disabled or enabled."""

        name: str
        enabled: bool

        def apply(self, robot: "Robot") -> None:
            robot.enabled = self.enabled

    class TrustChanged(RegistryAggregate.Event):
        """The outside OIDC issuers whose ID tokens stand in for the robot's secret, and their
        conditions, were replaced (ADR 0045; an empty list trusts none)."""

        name: str
        policies: list[dict]

        def apply(self, robot: "Robot") -> None:
            robot.trust = self.policies

    class Deleted(RegistryAggregate.Event):
        """A robot account was deleted."""

        name: str

        def apply(self, robot: "Robot") -> None:
            robot.deleted = True

    def __init__(self, name: str, level: str, description: str, grants: list[dict],
                 duration_days: int, expires_at: int) -> None:
        self.name = name
        self.level = level
        self.description = description
        self.grants = grants
        self.duration_days = duration_days
        self.expires_at = expires_at
        self.enabled = True
        self.deleted = False
        self.trust: list[dict] = []  # a robot made again under a deleted one's name trusts nobody

    @classmethod
    def create(cls, name: str, level: str, description: str, grants: list[Grant],
               duration_days: int, expires_at: int, actor: Actor) -> "Robot":
        check_grants(grants, level)
        check_text(description, "description", multiline=True)
        return cls._create(cls.Created, id=robot_id(name), name=name, level=level,
                           description=description[:1024], grants=[msgspec.to_builtins(g) for g in grants],
                           duration_days=duration_days, expires_at=expires_at, **actor.fields())

    def recreate(self, description: str, grants: list[Grant], duration_days: int, expires_at: int,
                 actor: Actor) -> None:
        if not self.deleted:
            raise Conflict("a robot with that name exists", {"name": self.name})
        check_grants(grants, self.level)
        check_text(description, "description", multiline=True)
        self.trigger_event(self.Recreated, name=self.name, level=self.level,
                           description=description[:1024], grants=[msgspec.to_builtins(g) for g in grants],
                           duration_days=duration_days, expires_at=expires_at, **actor.fields())

    def refresh_secret(self, actor: Actor) -> None:
        self._alive()
        self.trigger_event(self.SecretRefreshed, name=self.name, **actor.fields())

    def update(self, description: str, grants: list[Grant], duration_days: int, expires_at: int,
               actor: Actor) -> None:
        self._alive()
        check_grants(grants, self.level)
        check_text(description, "description", multiline=True)
        self.trigger_event(self.Updated, name=self.name, description=description[:1024],
                           grants=[msgspec.to_builtins(g) for g in grants],
                           duration_days=duration_days, expires_at=expires_at, **actor.fields())

    def set_enabled(self, enabled: bool, actor: Actor) -> None:
        self._alive()
        if enabled != self.enabled:
            self.trigger_event(self.EnabledChanged, name=self.name, enabled=enabled, **actor.fields())

    def set_trust(self, policies: list[TrustPolicy], allow_http_loopback: bool, actor: Actor) -> None:
        """Replace the trust policies (ADR 0045); nothing is recorded when they are the same."""
        self._alive()
        wanted = [msgspec.to_builtins(p) for p in check_trust(policies, allow_http_loopback)]
        if wanted != getattr(self, "trust", []):
            self.trigger_event(self.TrustChanged, name=self.name, policies=wanted, **actor.fields())

    def delete(self, actor: Actor) -> None:
        self._alive()
        self.trigger_event(self.Deleted, name=self.name, **actor.fields())

    def _alive(self) -> None:
        if self.deleted:
            raise Conflict("robot was deleted", {"name": self.name})
