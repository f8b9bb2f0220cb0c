"""Harbor's project roles and the one permission matrix every check uses.

A permission is a (resource, action) pair. OCI operations map onto it:
pull -> (repository, pull), push -> (repository, push),
delete -> (artifact, delete).
"""

PROJECT_ADMIN, DEVELOPER, GUEST, MAINTAINER, LIMITED_GUEST = 1, 2, 3, 4, 5

ROLE_NAMES = {
    PROJECT_ADMIN: "projectAdmin",
    DEVELOPER: "developer",
    GUEST: "guest",
    MAINTAINER: "maintainer",
    LIMITED_GUEST: "limitedGuest",
}
ROLE_IDS = {name: role for role, name in ROLE_NAMES.items()}

_READ = {"read", "list"}
_CRUD = {"create", "read", "update", "delete", "list"}

_LIMITED_GUEST = {
    "project": {"read"},
    "repository": {"pull", "list", "read"},
    "artifact": {"read", "list"},
    "tag": {"list"},
    "artifact-label": set(),
    "scan": {"read"},
}
_GUEST = {
    **_LIMITED_GUEST,
    "member": {"read", "list"},
    "log": {"list"},
    "label": {"read", "list"},
    "metadata": {"read", "list"},
    "quota": {"read"},
    "accessory": {"list"},
    "immutable-tag": {"list"},
    "tag-retention": {"read", "list"},
    "robot": {"read", "list"},
}
_DEVELOPER = {
    **_GUEST,
    # Harbor leaves editing a repository (its description) to maintainers and above.
    "repository": {"pull", "push", "list", "read"},
    "artifact": {"read", "list", "create"},
    "tag": {"list", "create"},
    "artifact-label": {"create", "delete"},
    "scan": {"read", "create", "stop"},
    "sbom": {"read", "create", "stop"},
}
_MAINTAINER = {
    **_DEVELOPER,
    "repository": {"pull", "push", "list", "read", "update", "delete"},
    "artifact": {"read", "list", "create", "delete"},
    "tag": {"list", "create", "delete"},
    "label": set(_CRUD),
    "immutable-tag": set(_CRUD),
    "tag-retention": set(_CRUD) | {"operate"},
    "webhook": set(_READ),
    "scanner": {"read"},
    "preheat-policy": set(_READ),
}
_PROJECT_ADMIN = {
    **_MAINTAINER,
    "project": {"read", "update", "delete"},
    "member": set(_CRUD),
    "metadata": set(_CRUD),
    "robot": set(_CRUD),
    "webhook": set(_CRUD),
    "scanner": {"read", "create"},
    "preheat-policy": set(_CRUD),
    "notification-policy": set(_CRUD),
    "export-cve": {"create", "read"},
}

MATRIX: dict[int, dict[str, set[str]]] = {
    LIMITED_GUEST: _LIMITED_GUEST,
    GUEST: _GUEST,
    DEVELOPER: _DEVELOPER,
    MAINTAINER: _MAINTAINER,
    PROJECT_ADMIN: _PROJECT_ADMIN,
}

# What any caller may do in a public project.
PUBLIC_PROJECT = {"project": {"read"}, "repository": {"pull", "list", "read"},
                  "artifact": {"read", "list"}, "tag": {"list"}}

OCI_ACTIONS = {"pull": ("repository", "pull"), "push": ("repository", "push"),
               "delete": ("artifact", "delete")}

# Permissions a robot may be given (what GET /api/v2.0/permissions lists).
ROBOT_PROJECT_PERMISSIONS = sorted(
    (resource, action) for resource, actions in _PROJECT_ADMIN.items()
    for action in actions if resource not in ("member", "robot", "project", "metadata")
)
ROBOT_SYSTEM_PERMISSIONS = sorted([
    ("project", "create"), ("project", "list"), ("user", "list"), ("user", "read"),
    ("audit-log", "list"), ("registry", "list"), ("registry", "read"), ("catalog", "read"),
    ("statistics", "read"), ("label", "create"), ("label", "read"), ("label", "list"),
    ("label", "update"), ("label", "delete"), ("garbage-collection", "read"),
    ("garbage-collection", "create"), ("replication", "read"), ("replication", "list"),
    ("scan-all", "read"), ("scan-all", "create"), ("system-volumes", "read"), ("security-hub", "read"),
    # replication: a robot may watch and run policies, never point them elsewhere (no registry
    # or policy writes: those could send a project's images to any address)
    ("replication", "create"), ("replication-policy", "read"), ("replication-policy", "list"),
    ("replication-adapter", "list"),
])


def role_allows(role: int | None, resource: str, action: str) -> bool:
    if role is None:
        return False
    return action in MATRIX.get(role, {}).get(resource, set())


# Harbor's ranking of roles, for the one role it shows where a user may hold several.
ROLE_POWER = {PROJECT_ADMIN: 50, MAINTAINER: 40, DEVELOPER: 30, GUEST: 20, LIMITED_GUEST: 10}


def highest_role(roles) -> int:
    """The most powerful of `roles` (0 for none), as Harbor picks `current_user_role_id`."""
    return max(roles, key=lambda role: ROLE_POWER.get(role, 0), default=0)


def role_name(role: int) -> str:
    return ROLE_NAMES[role]
