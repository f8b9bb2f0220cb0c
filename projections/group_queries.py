"""Queries over the user-group tables of the identity view (projections/iam_groups.py)."""

import msgspec

from infra.store.sql import Database


class GroupRow(msgspec.Struct, frozen=True):
    group_id: int
    group_name: str
    group_type: int
    ldap_group_dn: str


class GroupMemberRow(msgspec.Struct, frozen=True):
    project: str
    group_id: int
    group_name: str
    member_id: int
    role: int


_GROUP = "group_id, group_name, group_type, ldap_group_dn"
_MEMBER = "m.project, m.group_id, g.group_name, m.member_id, m.role"


def _like(text: str) -> str:
    """A LIKE pattern that matches `text` anywhere, its own % and _ taken literally (ESCAPE '!')."""
    return "%" + text.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def group_roles_of(db: Database, p: str, username: str) -> dict[str, list[int]]:
    """Project -> the roles the user's groups hold there."""
    rows = db.read(f"SELECT m.project, m.role FROM {p}group_members m JOIN {p}user_groups u "
                   "ON u.group_id = m.group_id WHERE u.username = ?", (username,))
    roles: dict[str, list[int]] = {}
    for project, role in rows:
        roles.setdefault(project, []).append(role)
    return {project: sorted(set(r)) for project, r in roles.items()}


class GroupQueries:
    def __init__(self, db: Database, prefix: str = "iam_") -> None:
        self.db = db
        self.p = prefix

    def group(self, group_id: int) -> GroupRow | None:
        rows = self.db.read(f"SELECT {_GROUP} FROM {self.p}usergroups WHERE group_id = ?", (group_id,))
        return GroupRow(*rows[0]) if rows else None

    def groups(self, offset: int, limit: int, name: str | None = None, ldap_group_dn: str | None = None,
               group_type: int | None = None) -> tuple[list[GroupRow], int]:
        """Groups by id; `name` matched in part, `ldap_group_dn` exactly (as Harbor keeps it:
        trimmed, lower case), `group_type` exactly."""
        clauses, params = [], []
        if name:
            clauses.append("group_name LIKE ? ESCAPE '!'")
            params.append(_like(name))
        if ldap_group_dn:
            clauses.append("ldap_group_dn = ?")
            params.append(ldap_group_dn.strip().lower())
        if group_type is not None:
            clauses.append("group_type = ?")
            params.append(group_type)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        total = self.db.read(f"SELECT COUNT(*) FROM {self.p}usergroups{where}", params)[0][0]
        rows = self.db.read(f"SELECT {_GROUP} FROM {self.p}usergroups{where} ORDER BY group_id "
                            "LIMIT ? OFFSET ?", [*params, limit, offset])
        return [GroupRow(*r) for r in rows], total

    def user_group_ids(self, username: str) -> list[int]:
        rows = self.db.read(f"SELECT group_id FROM {self.p}user_groups WHERE username = ? ORDER BY group_id",
                            (username,))
        return [r[0] for r in rows]

    def projects_of_group(self, group_id: int) -> list[str]:
        rows = self.db.read(f"SELECT project FROM {self.p}group_members WHERE group_id = ?", (group_id,))
        return sorted(r[0] for r in rows)

    def members(self, project: str, entityname: str | None = None) -> list[GroupMemberRow]:
        where, params = " WHERE m.project = ?", [project]
        if entityname:
            where += " AND g.group_name LIKE ? ESCAPE '!'"
            params.append(_like(entityname))
        rows = self.db.read(f"SELECT {_MEMBER} FROM {self.p}group_members m JOIN {self.p}usergroups g "
                            f"ON g.group_id = m.group_id{where} ORDER BY m.member_id", params)
        return [GroupMemberRow(*r) for r in rows]

    def member_by_id(self, project: str, member_id: int) -> GroupMemberRow | None:
        rows = self.db.read(f"SELECT {_MEMBER} FROM {self.p}group_members m JOIN {self.p}usergroups g "
                            "ON g.group_id = m.group_id WHERE m.project = ? AND m.member_id = ?",
                            (project, member_id))
        return GroupMemberRow(*rows[0]) if rows else None
