"""Handlers for identity and access commands.

Secrets are hashed into the credential store after the event that records
their existence is saved: a refused command never changes a password.
"""

import secrets
import time

import msgspec

from commands.application import RegistryApplication
from commands.retries import retried
from commands.iam.messages import (
    AddMember, ChangeMemberRole, ChangePassword, CreateRobot, CreateUser, Created, DeleteProject,
    DeleteRobot, DeleteUser, RefreshRobotSecret, RemoveMember, SetSysadmin,
    SetCliSecret, SetUserEnabled, UpdateProfile, UpdateRobot,
)
from commands.artifacts.messages import Outcome
from domain.errors import BadRequest, Conflict, Forbidden, NotFound, PreconditionFailed
from domain.iam.passwords import check_password_policy
from domain.project import Project, project_id
from domain.iam.robot import Robot, robot_id
from domain.iam.user import User, cli_secret_principal, user_id

DAY = 86400


def _expiry(duration_days: int) -> int:
    if duration_days == -1:
        return -1
    if duration_days <= 0 or duration_days > 36500:
        raise BadRequest("duration must be -1 (never expires) or 1 to 36500 days",
                         {"field": "duration"})
    return int(time.time()) + duration_days * DAY


def _check_secret(secret: str) -> str:
    try:
        return check_password_policy(secret)
    except BadRequest:
        raise BadRequest("secret must be 8 to 128 characters with upper, lower case and a digit",
                         {"field": "secret"})


def new_secret() -> str:
    """A random robot secret that also meets the password policy."""
    return "Tm" + secrets.token_urlsafe(24) + "9"


class IamCommands:
    def __init__(self, app: RegistryApplication, credentials) -> None:
        self.app = app
        self.credentials = credentials

    def _save(self, *aggregates) -> Outcome:
        recordings = self.app.save(*aggregates)
        return Outcome(position=max((r.notification.id for r in recordings), default=None))

    def _user(self, username: str) -> User:
        user = self.app.find(user_id(username), User)
        if user is None or user.deleted:
            raise NotFound("user not found", {"username": username})
        return user

    def _project(self, name: str) -> Project:
        project = self.app.find(project_id(name), Project)
        if project is None or project.deleted:
            raise NotFound("project not found", {"project": name})
        return project

    def _robot(self, name: str) -> Robot:
        robot = self.app.find(robot_id(name), Robot)
        if robot is None or robot.deleted:
            raise NotFound("robot not found", {"name": name})
        return robot

    @retried
    def create_user(self, c: CreateUser) -> Created:
        check_password_policy(c.password)
        existing = self.app.find(user_id(c.username), User)
        if existing is not None:
            raise Conflict("username already taken", {"username": c.username})
        user = User.create(c.username, c.email, c.realname, c.comment, c.sysadmin, c.actor)
        outcome = self._save(user)
        self.credentials.set(c.username, c.password)
        return Created(outcome.position)

    @retried
    def update_profile(self, c: UpdateProfile) -> Outcome:
        user = self._user(c.username)
        user.update_profile(c.email, c.realname, c.comment, c.actor)
        return self._save(user)

    @retried
    def change_password(self, c: ChangePassword) -> Outcome:
        user = self._user(c.username)
        if c.old_password is not None and not self.credentials.verify(c.username, c.old_password):
            raise Forbidden("the old password is wrong")
        check_password_policy(c.new_password)
        if c.old_password is not None and c.old_password == c.new_password:
            raise BadRequest("the new password must differ from the old one")
        user.password_changed(c.actor)
        outcome = self._save(user)
        self.credentials.set(c.username, c.new_password)
        return outcome

    @retried
    def set_cli_secret(self, c: SetCliSecret) -> Outcome:
        """Replace an OIDC user's CLI secret: the event says it was set, the hash goes where
        password hashes go (infra/auth/credentials.py)."""
        user = self._user(c.username)
        user.check_cli_secret_allowed(c.auth_mode)
        _check_secret(c.secret)
        user.set_cli_secret(c.auth_mode, c.actor)
        outcome = self._save(user)
        self.credentials.set(cli_secret_principal(c.username), c.secret)
        return outcome

    @retried
    def set_sysadmin(self, c: SetSysadmin) -> Outcome:
        user = self._user(c.username)
        user.set_sysadmin(c.sysadmin, c.actor)
        return self._save(user)

    @retried
    def set_user_enabled(self, c: SetUserEnabled) -> Outcome:
        user = self._user(c.username)
        user.set_enabled(c.enabled, c.actor)
        return self._save(user)

    @retried
    def delete_user(self, c: DeleteUser) -> Outcome:
        user = self._user(c.username)
        user.delete(c.actor)
        outcome = self._save(user)
        self.credentials.delete(c.username)
        self.credentials.delete(cli_secret_principal(c.username))
        return outcome

    @retried
    def delete_project(self, c: DeleteProject) -> Outcome:
        project = self._project(c.project)
        if c.repositories:
            raise PreconditionFailed("the project still holds repositories; delete them first",
                                     {"repositories": c.repositories})
        project.delete(c.actor)
        robots = []
        for name in c.robots:  # a project's robots go with it, as in Harbor
            robot = self.app.find(robot_id(name), Robot)
            if robot is not None and not robot.deleted:
                robot.delete(c.actor)
                robots.append(robot)
        outcome = self._save(project, *robots)
        for robot in robots:
            self.credentials.delete(robot.name)
        return outcome

    @retried
    def add_member(self, c: AddMember) -> Outcome:
        self._user(c.username)
        project = self._project(c.project)
        project.add_member(c.username, c.role, c.actor)
        return self._save(project)

    @retried
    def change_member_role(self, c: ChangeMemberRole) -> Outcome:
        project = self._project(c.project)
        project.change_role(c.username, c.role, c.actor)
        return self._save(project)

    @retried
    def remove_member(self, c: RemoveMember) -> Outcome:
        project = self._project(c.project)
        project.remove_member(c.username, c.actor)
        return self._save(project)

    @retried
    def create_robot(self, c: CreateRobot) -> Created:
        robot = self.app.find(robot_id(c.name), Robot)
        if robot is not None and not robot.deleted:
            raise Conflict("a robot with that name exists", {"name": c.name})
        secret = _check_secret(c.secret) if c.secret else new_secret()
        if robot is None:
            robot = Robot.create(c.name, c.level, c.description, c.grants, c.duration_days,
                                 _expiry(c.duration_days), c.actor)
        else:
            robot.recreate(c.description, c.grants, c.duration_days, _expiry(c.duration_days), c.actor)
        outcome = self._save(robot)
        self.credentials.set(c.name, secret)
        return Created(outcome.position, secret)

    @retried
    def update_robot(self, c: UpdateRobot) -> Outcome:
        robot = self._robot(c.name)
        expires = robot.expires_at if c.duration_days == robot.duration_days else _expiry(c.duration_days)
        grants = [msgspec.to_builtins(g) for g in c.grants]
        if (c.description, grants, c.duration_days) != (robot.description, robot.grants,
                                                        robot.duration_days):
            robot.update(c.description, c.grants, c.duration_days, expires, c.actor)
        robot.set_enabled(c.enabled, c.actor)
        return self._save(robot)

    @retried
    def refresh_robot_secret(self, c: RefreshRobotSecret) -> Created:
        robot = self._robot(c.name)
        secret = _check_secret(c.secret) if c.secret else new_secret()
        robot.refresh_secret(c.actor)
        outcome = self._save(robot)
        self.credentials.set(c.name, secret)
        return Created(outcome.position, secret)

    @retried
    def delete_robot(self, c: DeleteRobot) -> Outcome:
        robot = self._robot(c.name)
        robot.delete(c.actor)
        outcome = self._save(robot)
        self.credentials.delete(c.name)
        return outcome
