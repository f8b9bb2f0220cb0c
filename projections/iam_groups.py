"""The user-group part of the identity view: groups, their project memberships, and the groups
each user is in (ADR 0041). The identity view (projections/iam_view.py) applies these handlers,
so a principal's roles and its groups' roles come from one view, in one transaction."""

from domain.iam.groups_of_user import GroupsOfUser
from domain.iam.user_group import UserGroups
from domain.project import Project
from projections.times import stamp

GROUP_TABLES = ("usergroups", "group_members", "user_groups")
GROUP_INDEXES = ("user_groups_group",)


def group_schema(p: str) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS {p}usergroups (
            group_id BIGINT PRIMARY KEY, group_name TEXT NOT NULL, group_type INTEGER NOT NULL,
            ldap_group_dn TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS {p}group_members (
            project TEXT NOT NULL, group_id BIGINT NOT NULL, member_id BIGINT NOT NULL,
            role INTEGER NOT NULL, added_at TEXT NOT NULL, PRIMARY KEY (project, group_id))""",
        f"""CREATE TABLE IF NOT EXISTS {p}user_groups (
            username TEXT NOT NULL, group_id BIGINT NOT NULL, PRIMARY KEY (username, group_id))""",
        f"CREATE INDEX IF NOT EXISTS {p}user_groups_group ON {p}user_groups (group_id)",
    ]


# Group and membership changes touch every member of the group: forget every cached principal
# (rare, administrative events).
EVERYONE = {("all",)}


def group_handlers(p: str) -> dict:
    def created(w, e, pos) -> set:
        w.execute(f"INSERT INTO {p}usergroups VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                  (e.group_id, e.group_name, e.group_type, e.ldap_group_dn, stamp(e.timestamp),
                   stamp(e.timestamp)))
        return set()

    def renamed(w, e, pos) -> set:
        w.execute(f"UPDATE {p}usergroups SET group_name = ?, updated_at = ? WHERE group_id = ?",
                  (e.group_name, stamp(e.timestamp), e.group_id))
        return set()

    def deleted(w, e, pos) -> set:
        for table in ("usergroups", "group_members", "user_groups"):
            w.execute(f"DELETE FROM {p}{table} WHERE group_id = ?", (e.group_id,))
        return EVERYONE

    def member_added(w, e, pos) -> set:
        w.execute(f"INSERT INTO {p}group_members VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                  (e.name, e.group_id, pos, e.role, stamp(e.timestamp)))
        return EVERYONE

    def member_role(w, e, pos) -> set:
        w.execute(f"UPDATE {p}group_members SET role = ? WHERE project = ? AND group_id = ?",
                  (e.role, e.name, e.group_id))
        return EVERYONE

    def member_removed(w, e, pos) -> set:
        w.execute(f"DELETE FROM {p}group_members WHERE project = ? AND group_id = ?", (e.name, e.group_id))
        return EVERYONE

    def users_groups(w, e, pos) -> set:
        w.execute(f"DELETE FROM {p}user_groups WHERE username = ?", (e.username,))
        for group_id in e.group_ids:
            w.execute(f"INSERT INTO {p}user_groups SELECT ?, group_id FROM {p}usergroups WHERE group_id = ? "
                      "ON CONFLICT DO NOTHING", (e.username, group_id))
        return {("user", e.username)}

    return {
        UserGroups.GroupCreated: created,
        UserGroups.GroupRenamed: renamed,
        UserGroups.GroupDeleted: deleted,
        Project.GroupMemberAdded: member_added,
        Project.GroupMemberRoleChanged: member_role,
        Project.GroupMemberRemoved: member_removed,
        GroupsOfUser.Changed: users_groups,
    }


def forget_project(w, p: str, project: str) -> None:
    """A deleted project's group memberships end with it."""
    w.execute(f"DELETE FROM {p}group_members WHERE project = ?", (project,))


def forget_user(w, p: str, username: str) -> None:
    """A deleted user is in no group."""
    w.execute(f"DELETE FROM {p}user_groups WHERE username = ?", (username,))
