"""The identity query model: users, project members and robot accounts.

Integer ids (Harbor's `user_id`, member `id`, robot `id`) are the log
positions of the events that created them: unique, stable across rebuilds.
"""

import json
from typing import Any

from domain.project import Project
from domain.iam.robot import Robot, project_robots_pattern
from domain.iam.user import User
from projections.iam_groups import GROUP_INDEXES, GROUP_TABLES, forget_project, forget_user, group_handlers, group_schema
from projections.robot_trust import TRUST_TABLES, forget_project_trust, forget_trust, trust_handlers, trust_schema
from projections.view import View
from projections.times import stamp

TABLES = ("users", "members", "robots", "oidc_users", *GROUP_TABLES, *TRUST_TABLES)


def schema(p: str) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS {p}users (
            username TEXT PRIMARY KEY, user_id BIGINT NOT NULL, email TEXT NOT NULL,
            realname TEXT NOT NULL, comment TEXT NOT NULL, sysadmin INTEGER NOT NULL,
            enabled INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
        f"CREATE UNIQUE INDEX IF NOT EXISTS {p}users_id ON {p}users (user_id)",
        f"""CREATE TABLE IF NOT EXISTS {p}members (
            project TEXT NOT NULL, username TEXT NOT NULL, member_id BIGINT NOT NULL,
            role INTEGER NOT NULL, added_at TEXT NOT NULL, PRIMARY KEY (project, username))""",
        f"""CREATE TABLE IF NOT EXISTS {p}robots (
            name TEXT PRIMARY KEY, robot_id BIGINT NOT NULL, level TEXT NOT NULL,
            description TEXT NOT NULL, grants TEXT NOT NULL, duration_days INTEGER NOT NULL,
            expires_at BIGINT NOT NULL, enabled INTEGER NOT NULL, created_by TEXT NOT NULL,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
        f"CREATE UNIQUE INDEX IF NOT EXISTS {p}robots_id ON {p}robots (robot_id)",
        *group_schema(p),
        # users onboarded through OIDC (ADR 0043): their identity and the admin group seen last
        f"""CREATE TABLE IF NOT EXISTS {p}oidc_users (
            username TEXT PRIMARY KEY, issuer TEXT NOT NULL, subject TEXT NOT NULL,
            admin_by_group INTEGER NOT NULL, linked_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
        *trust_schema(p),  # keyless CI robots (ADR 0045)
    ]


def _when(event: Any) -> str:
    return stamp(event.timestamp)


class IamView(View):
    name = "iam"
    tables = TABLES
    indexes = ("users_id", "robots_id", *GROUP_INDEXES)

    def __init__(self, prefix: str = "iam_") -> None:
        super().__init__(prefix)
        self.handlers = {
            User.Created: self._user_created,
            User.ProfileUpdated: self._user_profile,
            User.SysadminChanged: self._user_flag("sysadmin", "sysadmin"),
            User.EnabledChanged: self._user_flag("enabled", "enabled"),
            User.PasswordChanged: self._user_touched,
            User.Deleted: self._user_deleted,
            User.OidcLinked: self._oidc_linked,
            User.AdminGroupChanged: self._admin_group,
            Project.MemberAdded: self._member_added,
            Project.MemberRoleChanged: self._member_role,
            Project.MemberRemoved: self._member_removed,
            Project.Deleted: self._project_deleted,
            Robot.Created: self._robot_created,
            Robot.Recreated: self._robot_created,
            Robot.Updated: self._robot_updated,
            Robot.EnabledChanged: self._robot_enabled,
            Robot.SecretRefreshed: self._robot_touched,
            Robot.Deleted: self._robot_deleted,
            **group_handlers(self.p),
            **trust_handlers(self.p),
        }

    def statements(self) -> list[str]:
        return schema(self.p)

    def _user_created(self, w, e, pos) -> set:
        w.execute(f"INSERT INTO {self.p}users VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT DO NOTHING",
                  (e.username, pos, e.email, e.realname, e.comment, int(e.sysadmin), _when(e), _when(e)))
        return {("user", e.username)}

    def _user_profile(self, w, e, pos) -> set:
        w.execute(f"UPDATE {self.p}users SET email = ?, realname = ?, comment = ?, updated_at = ? "
                  "WHERE username = ?", (e.email, e.realname, e.comment, _when(e), e.username))
        return {("user", e.username)}

    def _user_flag(self, column: str, field: str):
        def apply(w, e, pos) -> set:
            w.execute(f"UPDATE {self.p}users SET {column} = ?, updated_at = ? WHERE username = ?",
                      (int(getattr(e, field)), _when(e), e.username))
            return {("user", e.username)}
        return apply

    def _user_touched(self, w, e, pos) -> set:
        w.execute(f"UPDATE {self.p}users SET updated_at = ? WHERE username = ?", (_when(e), e.username))
        return {("user", e.username)}

    def _user_deleted(self, w, e, pos) -> set:
        w.execute(f"DELETE FROM {self.p}users WHERE username = ?", (e.username,))
        w.execute(f"DELETE FROM {self.p}members WHERE username = ?", (e.username,))
        forget_user(w, self.p, e.username)
        w.execute(f"DELETE FROM {self.p}oidc_users WHERE username = ?", (e.username,))
        return {("user", e.username)}

    def _oidc_linked(self, w, e, pos) -> set:
        w.execute(f"INSERT INTO {self.p}oidc_users VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT DO NOTHING",
                  (e.username, e.issuer, e.subject, _when(e), _when(e)))
        return {("user", e.username)}

    def _admin_group(self, w, e, pos) -> set:
        w.execute(f"UPDATE {self.p}oidc_users SET admin_by_group = ?, updated_at = ? WHERE username = ?",
                  (int(e.member), _when(e), e.username))
        return {("user", e.username)}

    def _member_added(self, w, e, pos) -> set:
        w.execute(f"INSERT INTO {self.p}members VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                  (e.name, e.member, pos, e.role, _when(e)))
        return {("user", e.member)}

    def _member_role(self, w, e, pos) -> set:
        w.execute(f"UPDATE {self.p}members SET role = ? WHERE project = ? AND username = ?",
                  (e.role, e.name, e.member))
        return {("user", e.member)}

    def _member_removed(self, w, e, pos) -> set:
        w.execute(f"DELETE FROM {self.p}members WHERE project = ? AND username = ?", (e.name, e.member))
        return {("user", e.member)}

    def _project_deleted(self, w, e, pos) -> set:
        """Members and robots end with the project (its robots are also deleted by the same
        command; one made meanwhile would otherwise keep rights in a project of that name)."""
        w.execute(f"DELETE FROM {self.p}members WHERE project = ?", (e.name,))
        forget_project(w, self.p, e.name)
        forget_project_trust(w, self.p, e.name)
        w.execute(f"DELETE FROM {self.p}robots WHERE level = 'project' AND name LIKE ? ESCAPE '!'",
                  (project_robots_pattern(e.name),))
        return {("all",)}

    def _robot_created(self, w, e, pos) -> set:
        forget_trust(w, self.p, e.name)  # a robot made again starts trusting nobody
        w.execute(f"INSERT INTO {self.p}robots VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?) "
                  "ON CONFLICT DO NOTHING",
                  (e.name, pos, e.level, e.description, json.dumps(e.grants), e.duration_days,
                   e.expires_at, e.actor, _when(e), _when(e)))
        return {("robot", e.name)}

    def _robot_updated(self, w, e, pos) -> set:
        w.execute(f"UPDATE {self.p}robots SET description = ?, grants = ?, duration_days = ?, "
                  "expires_at = ?, updated_at = ? WHERE name = ?",
                  (e.description, json.dumps(e.grants), e.duration_days, e.expires_at, _when(e), e.name))
        return {("robot", e.name)}

    def _robot_enabled(self, w, e, pos) -> set:
        w.execute(f"UPDATE {self.p}robots SET enabled = ?, updated_at = ? WHERE name = ?",
                  (int(e.enabled), _when(e), e.name))
        return {("robot", e.name)}

    def _robot_touched(self, w, e, pos) -> set:
        w.execute(f"UPDATE {self.p}robots SET updated_at = ? WHERE name = ?", (_when(e), e.name))
        return {("robot", e.name)}

    def _robot_deleted(self, w, e, pos) -> set:
        w.execute(f"DELETE FROM {self.p}robots WHERE name = ?", (e.name,))
        forget_trust(w, self.p, e.name)
        return {("robot", e.name)}
