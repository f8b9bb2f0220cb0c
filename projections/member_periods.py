"""Who was a member of each project with which role, over time: a row per period (log positions
[from, to)) of a user's or a user group's membership, so that `GET /projects/{p}/members?at=`
answers for any moment (issue 17, section 4: group changes are events, memberships answer
`at=` as the rest of a project's history does).

A membership keeps its id (the position of the event that added it) across role changes, as
the live members list does; a project's deletion ends every membership it had.
"""

from typing import Any

import msgspec

from domain.project import Project
from infra.store.sql import Database, Writer
from projections.view import View

USER, GROUP = "u", "g"


class MemberPeriod(msgspec.Struct, frozen=True):
    project: str
    kind: str  # u (a user) or g (a user group)
    member: str  # the username, or the group id in decimal
    name: str  # the username, or the group's name when it was added
    member_id: int
    role: int


class MemberPeriodView(View):
    name = "member_periods"
    tables = ("periods",)

    def __init__(self, prefix: str = "members_") -> None:
        super().__init__(prefix)
        self.handlers = {
            Project.MemberAdded: self._user_added, Project.MemberRoleChanged: self._user_role,
            Project.MemberRemoved: self._user_removed, Project.GroupMemberAdded: self._group_added,
            Project.GroupMemberRoleChanged: self._group_role, Project.GroupMemberRemoved: self._group_removed,
            Project.Deleted: self._project_deleted,
        }

    def statements(self) -> list[str]:
        return [f"""CREATE TABLE IF NOT EXISTS {self.p}periods (
            project TEXT NOT NULL, kind TEXT NOT NULL, member TEXT NOT NULL, name TEXT NOT NULL,
            member_id BIGINT NOT NULL, role INTEGER NOT NULL, valid_from BIGINT NOT NULL, valid_to BIGINT,
            PRIMARY KEY (project, kind, member, valid_from))""",
                f"CREATE INDEX IF NOT EXISTS {self.p}periods_at ON {self.p}periods (project, valid_from)"]

    def _open(self, w: Writer, project: str, kind: str, member: str, name: str, member_id: int, role: int,
              pos: int) -> set:
        w.execute(f"INSERT INTO {self.p}periods VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING",
                  (project, kind, member, name, member_id, role, pos))
        return set()

    def _close(self, w: Writer, project: str, kind: str, member: str, pos: int) -> tuple | None:
        """End the member's open period; its (name, member id), None when it had none."""
        rows = w.execute(f"SELECT name, member_id FROM {self.p}periods WHERE project = ? AND kind = ? "
                         "AND member = ? AND valid_to IS NULL", (project, kind, member))
        w.execute(f"UPDATE {self.p}periods SET valid_to = ? WHERE project = ? AND kind = ? AND member = ? "
                  "AND valid_to IS NULL", (pos, project, kind, member))
        return tuple(rows[0]) if rows else None

    def _user_added(self, w: Writer, e: Any, pos: int) -> set:
        return self._open(w, e.name, USER, e.member, e.member, pos, e.role, pos)

    def _user_role(self, w: Writer, e: Any, pos: int) -> set:
        held = self._close(w, e.name, USER, e.member, pos)
        return self._open(w, e.name, USER, e.member, e.member, held[1] if held else pos, e.role, pos)

    def _user_removed(self, w: Writer, e: Any, pos: int) -> set:
        self._close(w, e.name, USER, e.member, pos)
        return set()

    def _group_added(self, w: Writer, e: Any, pos: int) -> set:
        return self._open(w, e.name, GROUP, str(e.group_id), e.group_name, pos, e.role, pos)

    def _group_role(self, w: Writer, e: Any, pos: int) -> set:
        held = self._close(w, e.name, GROUP, str(e.group_id), pos)
        name, member_id = held if held else (str(e.group_id), pos)
        return self._open(w, e.name, GROUP, str(e.group_id), name, member_id, e.role, pos)

    def _group_removed(self, w: Writer, e: Any, pos: int) -> set:
        self._close(w, e.name, GROUP, str(e.group_id), pos)
        return set()

    def _project_deleted(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}periods SET valid_to = ? WHERE project = ? AND valid_to IS NULL", (pos, e.name))
        return set()


class MemberPeriods:
    def __init__(self, db: Database, prefix: str = "members_") -> None:
        self.db = db
        self.p = prefix

    def at(self, project: str, position: int) -> list[MemberPeriod]:
        """The project's members at a log position, by member id."""
        rows = self.db.read(f"SELECT project, kind, member, name, member_id, role FROM {self.p}periods "
                            "WHERE project = ? AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?) "
                            "ORDER BY member_id", (project, position, position))
        return [MemberPeriod(*r) for r in rows]
