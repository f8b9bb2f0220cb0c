"""Commands about identity and access."""

import msgspec

from domain.base import Actor
from domain.iam.robot import Grant


class CreateUser(msgspec.Struct, frozen=True):
    username: str
    email: str
    realname: str
    comment: str
    password: str
    sysadmin: bool
    actor: Actor


class UpdateProfile(msgspec.Struct, frozen=True):
    username: str
    email: str
    realname: str
    comment: str
    actor: Actor


class ChangePassword(msgspec.Struct, frozen=True):
    username: str
    old_password: str | None  # None when an administrator resets it
    new_password: str
    actor: Actor


class SetCliSecret(msgspec.Struct, frozen=True):
    username: str
    secret: str
    auth_mode: str  # the system's sign-in mode (Harbor's auth_mode)
    actor: Actor


class SetSysadmin(msgspec.Struct, frozen=True):
    username: str
    sysadmin: bool
    actor: Actor


class SetUserEnabled(msgspec.Struct, frozen=True):
    username: str
    enabled: bool
    actor: Actor


class DeleteUser(msgspec.Struct, frozen=True):
    username: str
    actor: Actor


class DeleteProject(msgspec.Struct, frozen=True):
    project: str
    repositories: int
    actor: Actor
    robots: list[str] = []  # the project's robot accounts: deleted with it


class AddMember(msgspec.Struct, frozen=True):
    project: str
    username: str
    role: int
    actor: Actor


class ChangeMemberRole(msgspec.Struct, frozen=True):
    project: str
    username: str
    role: int
    actor: Actor


class RemoveMember(msgspec.Struct, frozen=True):
    project: str
    username: str
    actor: Actor


class CreateRobot(msgspec.Struct, frozen=True):
    name: str  # the full name, robot$...
    level: str
    description: str
    grants: list[Grant]
    duration_days: int
    secret: str | None
    actor: Actor


class UpdateRobot(msgspec.Struct, frozen=True):
    name: str
    description: str
    grants: list[Grant]
    duration_days: int
    enabled: bool
    actor: Actor


class RefreshRobotSecret(msgspec.Struct, frozen=True):
    name: str
    secret: str | None
    actor: Actor


class DeleteRobot(msgspec.Struct, frozen=True):
    name: str
    actor: Actor


class Created(msgspec.Struct, frozen=True):
    """A creation's outcome: the log position (the new resource's id) and any secret made."""

    position: int | None
    secret: str | None = None
