"""Queries over the identity query model; principals are cached per name and
invalidated by the events that change them."""

import json

import msgspec

from domain.iam.access import Principal
from domain.iam.robot import project_robots_pattern
from infra.store.sql import Database
from projections.cache import ViewCache
from projections.group_queries import group_roles_of
from projections.robot_trust import trust_of


class UserRow(msgspec.Struct, frozen=True):
    username: str
    user_id: int
    email: str
    realname: str
    comment: str
    sysadmin: bool
    enabled: bool
    created_at: str
    updated_at: str


class OidcUserRow(msgspec.Struct, frozen=True):
    username: str
    issuer: str
    subject: str
    admin_by_group: bool
    linked_at: str
    updated_at: str


class MemberRow(msgspec.Struct, frozen=True):
    project: str
    username: str
    member_id: int
    role: int
    user_id: int


class RobotRow(msgspec.Struct, frozen=True):
    name: str
    robot_id: int
    level: str
    description: str
    grants: list[dict]
    duration_days: int
    expires_at: int
    enabled: bool
    created_by: str
    created_at: str
    updated_at: str


_USER = "username, user_id, email, realname, comment, sysadmin, enabled, created_at, updated_at"
_ROBOT = ("name, robot_id, level, description, grants, duration_days, expires_at, enabled, "
          "created_by, created_at, updated_at")


def _user(row) -> UserRow:
    return UserRow(*row[:5], sysadmin=bool(row[5]), enabled=bool(row[6]), created_at=row[7],
                   updated_at=row[8])


def _robot(row) -> RobotRow:
    return RobotRow(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6],
                    bool(row[7]), row[8], row[9], row[10])


class IamQueries:
    def __init__(self, db: Database, prefix: str = "iam_", cache: ViewCache | None = None) -> None:
        self.db = db
        self.p = prefix
        self.cache = cache or ViewCache()

    def user(self, username: str) -> UserRow | None:
        rows = self.db.read(f"SELECT {_USER} FROM {self.p}users WHERE username = ?", (username,))
        return _user(rows[0]) if rows else None

    def user_by_id(self, user_id: int) -> UserRow | None:
        rows = self.db.read(f"SELECT {_USER} FROM {self.p}users WHERE user_id = ?", (user_id,))
        return _user(rows[0]) if rows else None

    def users(self, offset: int, limit: int, username: str | None = None) -> tuple[list[UserRow], int]:
        where, params = "", []
        if username:
            where, params = " WHERE username LIKE ?", [f"%{username}%"]
        total = self.db.read(f"SELECT COUNT(*) FROM {self.p}users{where}", params)[0][0]
        rows = self.db.read(f"SELECT {_USER} FROM {self.p}users{where} ORDER BY user_id "
                            "LIMIT ? OFFSET ?", [*params, limit, offset])
        return [_user(r) for r in rows], total

    def oidc_user(self, username: str) -> OidcUserRow | None:
        """The OIDC identity of a user onboarded through OIDC sign-in (ADR 0043), else None."""
        rows = self.db.read(f"SELECT username, issuer, subject, admin_by_group, linked_at, updated_at "
                            f"FROM {self.p}oidc_users WHERE username = ?", (username,))
        return OidcUserRow(*rows[0][:3], bool(rows[0][3]), *rows[0][4:]) if rows else None

    def user_principal(self, username: str) -> Principal | None:
        """The user as the access rules see them, or None if unknown: their own project roles
        and those of the groups they are in (ADR 0041)."""
        def load():
            user = self.user(username)
            if user is None:
                return None
            roles = dict(self.db.read(f"SELECT project, role FROM {self.p}members WHERE username = ?",
                                      (username,)))
            oidc = self.oidc_user(username)  # the OIDC admin group also makes an administrator
            return Principal(kind="user", name=username, sysadmin=user.sysadmin or bool(oidc and oidc.admin_by_group),
                             active=user.enabled, roles=roles, account_id=user.user_id,
                             group_roles=group_roles_of(self.db, self.p, username))
        return self.cache.load(("user", username), load)

    def robot(self, name: str) -> RobotRow | None:
        rows = self.db.read(f"SELECT {_ROBOT} FROM {self.p}robots WHERE name = ?", (name,))
        return _robot(rows[0]) if rows else None

    def robot_by_id(self, robot_id: int) -> RobotRow | None:
        rows = self.db.read(f"SELECT {_ROBOT} FROM {self.p}robots WHERE robot_id = ?", (robot_id,))
        return _robot(rows[0]) if rows else None

    def robots(self, offset: int, limit: int, level: str | None = None,
               project: str | None = None) -> tuple[list[RobotRow], int]:
        clauses, params = [], []
        if level:
            clauses.append("level = ?")
            params.append(level)
        if project:  # `<any prefix>$<project>+`, with `_` in the project's name escaped
            clauses.append("level = 'project' AND name LIKE ? ESCAPE '!'")
            params.append(project_robots_pattern(project))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        total = self.db.read(f"SELECT COUNT(*) FROM {self.p}robots{where}", params)[0][0]
        rows = self.db.read(f"SELECT {_ROBOT} FROM {self.p}robots{where} ORDER BY robot_id "
                            "LIMIT ? OFFSET ?", [*params, limit, offset])
        return [_robot(r) for r in rows], total

    def robot_principal(self, name: str) -> Principal | None:
        def load():
            robot = self.robot(name)
            if robot is None:
                return None
            return Principal(kind="robot", name=name, active=robot.enabled, account_id=robot.robot_id,
                             expires_at=robot.expires_at, grants=robot.grants)
        return self.cache.load(("robot", name), load)

    def robot_trust(self, name: str) -> tuple[int, list[dict]] | None:
        """(robot id, trust policies) of the robot now, None when it trusts nobody (ADR 0045)."""
        return trust_of(self.db, self.p, name)

    def members(self, project: str, offset: int, limit: int,
                entityname: str | None = None) -> tuple[list[MemberRow], int]:
        where, params = " WHERE m.project = ?", [project]
        if entityname:
            where += " AND m.username LIKE ?"
            params.append(f"%{entityname}%")
        base = f"FROM {self.p}members m JOIN {self.p}users u ON u.username = m.username{where}"
        total = self.db.read(f"SELECT COUNT(*) {base}", params)[0][0]
        rows = self.db.read(f"SELECT m.project, m.username, m.member_id, m.role, u.user_id {base} "
                            "ORDER BY m.member_id LIMIT ? OFFSET ?", [*params, limit, offset])
        return [MemberRow(*r) for r in rows], total

    def member_by_id(self, project: str, member_id: int) -> MemberRow | None:
        rows = self.db.read(
            f"SELECT m.project, m.username, m.member_id, m.role, u.user_id FROM {self.p}members m "
            f"JOIN {self.p}users u ON u.username = m.username WHERE m.project = ? AND m.member_id = ?",
            (project, member_id))
        return MemberRow(*rows[0]) if rows else None
