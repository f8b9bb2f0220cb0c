"""Who may do what: one function over the permission matrix for users, robots
and anonymous callers. Every OCI and REST check comes here."""

import time

import msgspec

from domain.roles import OCI_ACTIONS, PUBLIC_PROJECT, role_allows


class Principal(msgspec.Struct, frozen=True):
    """An authenticated caller (or anonymous), as the access rules need it."""

    kind: str  # "user", "robot" or "anonymous"
    name: str
    sysadmin: bool = False
    active: bool = True
    expires_at: int = -1  # robots: epoch seconds, -1 never
    roles: dict[str, int] = {}  # project -> role id (users)
    grants: list[dict] = []  # robots: [{"kind", "namespace", "access": [[resource, action]]}]

    @property
    def anonymous(self) -> bool:
        return self.kind == "anonymous"

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
    return role_allows(principal.roles.get(project), resource, action)


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
