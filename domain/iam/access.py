"""Who may do what: one function over the permission matrix for users, robots
and anonymous callers. Every OCI and REST check comes here."""

import time

import msgspec

from domain.iam.roles import OCI_ACTIONS, PUBLIC_PROJECT, highest_role, role_allows


class Principal(msgspec.Struct, frozen=True):
    """An authenticated caller (or anonymous), as the access rules need it."""

    kind: str  # "user", "robot" or "anonymous"
    name: str
    sysadmin: bool = False
    active: bool = True
    expires_at: int = -1  # robots: epoch seconds, -1 never
    roles: dict[str, int] = {}  # project -> role id (users: their own membership)
    group_roles: dict[str, list[int]] = {}  # project -> roles of the user's groups there (ADR 0041)
    grants: list[dict] = []  # robots: [{"kind", "namespace", "access": [[resource, action]]}]
    account_id: int = 0  # the user's or robot's id: a token names it, so an account made again later is not it

    @property
    def anonymous(self) -> bool:
        return self.kind == "anonymous"

    def project_roles(self, project: str) -> list[int]:
        """Every role the user holds in the project, their own and their groups', sorted: the
        user's rights there are the union of these roles' rights (Harbor's `current_user_role_ids`)."""
        own = self.roles.get(project)
        return sorted({*(() if own is None else (own,)), *self.group_roles.get(project, ())})

    def project_role(self, project: str) -> int:
        """The highest of those roles as Harbor ranks them (its `current_user_role_id`), 0 for none."""
        return highest_role(self.project_roles(project))

    def member_projects(self) -> list[str]:
        """The projects the user is a member of, themselves or through a group."""
        return sorted({*self.roles, *self.group_roles})

    def usable(self, now: float | None = None) -> bool:
        if not self.active:
            return False
        return self.expires_at < 0 or self.expires_at > (now or time.time())


ANONYMOUS = Principal(kind="anonymous", name="anonymous")


def _robot_allows(principal: Principal, project: str, resource: str, action: str) -> bool:
    for grant in principal.grants:
        if grant["kind"] == "project" and grant["namespace"] in (project, "*"):
            if [resource, action] in [list(a) for a in grant["access"]]:
                return True
    return False


def allows(principal: Principal, project: str, public: bool, resource: str, action: str) -> bool:
    """May this caller do `action` on `resource` inside `project`?"""
    if not principal.usable():
        return False
    if principal.kind == "robot":
        return _robot_allows(principal, project, resource, action)
    if public and action in PUBLIC_PROJECT.get(resource, ()):
        return True
    if principal.sysadmin:
        return True
    return any(role_allows(role, resource, action) for role in principal.project_roles(project))


def sees_project(principal: Principal, project: str, public: bool) -> bool:
    """May this caller know the project exists? Public ones, members, administrators, and
    robots holding any permission in it (robots are never given `project:read` itself)."""
    if allows(principal, project, public, "project", "read"):
        return True
    return principal.kind == "robot" and principal.usable() and any(
        g["kind"] == "project" and g["namespace"] in (project, "*") and g["access"]
        for g in principal.grants)


def ungrantable(principal: Principal, grants: list, public_of) -> tuple[str, str, str] | None:
    """The first permission in `grants` the caller does not hold itself, as (namespace,
    resource, action), or None: nobody gives a robot more than they have. `public_of(name)`
    tells whether a project is public (None if it does not exist)."""
    for grant in grants:
        for resource, action in grant.access:
            if grant.kind == "system":
                held = system_allows(principal, resource, action)
            elif grant.namespace == "*":
                held = principal.kind == "user" and principal.sysadmin and principal.usable()
            else:
                public = public_of(grant.namespace)
                held = public is not None and allows(principal, grant.namespace, public, resource, action)
            if not held:
                return grant.namespace if grant.kind == "project" else "system", resource, action
    return None


def system_allows(principal: Principal, resource: str, action: str) -> bool:
    """System-level rights: administrators, and robots granted them."""
    if not principal.usable():
        return False
    if principal.kind == "robot":
        return any(g["kind"] == "system" and [resource, action] in [list(a) for a in g["access"]]
                   for g in principal.grants)
    return principal.sysadmin


def oci_actions(principal: Principal, project: str, public: bool, wanted: set[str]) -> set[str]:
    """The subset of OCI actions (pull, push, delete) this caller holds on a repository."""
    return {action for action in wanted if action in OCI_ACTIONS
            and allows(principal, project, public, *OCI_ACTIONS[action])}
