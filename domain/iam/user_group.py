"""User groups (Harbor's `/usergroups`): LDAP, HTTP and OIDC groups that can be project members.

Every group lives in one directory aggregate, so that the rules that span groups (a name is
unique within a type, an LDAP group's DN is unique) are checked in one place and saved
atomically, and a rename does not move a group to another stream. Group ids are Harbor's small
integers, handed out by the directory and never used again after a delete, so an id recorded
anywhere (a user's groups, a project membership) never comes to mean another group.
"""

from domain.base import Actor, RegistryAggregate
from domain.errors import BadRequest, Conflict, NotFound
from domain.names import check_text, stream_id

LDAP_GROUP, HTTP_GROUP, OIDC_GROUP = 1, 2, 3
GROUP_TYPES = {LDAP_GROUP: "LDAP", HTTP_GROUP: "HTTP", OIDC_GROUP: "OIDC"}
MAX_GROUP_NAME = 255
MAX_DN = 512


def directory_id():
    return stream_id("usergroups")


def check_group_id(group_id: int) -> int:
    if group_id <= 0:
        raise BadRequest("the group id should be a positive integer", {"field": "group_id"})
    return group_id


def check_group_type(group_type: object) -> int:
    if isinstance(group_type, bool) or group_type not in GROUP_TYPES:
        raise BadRequest("group_type must be 1 (LDAP), 2 (HTTP) or 3 (OIDC)", {"field": "group_type"})
    return group_type


def check_group_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("group_name is required", {"field": "group_name"})
    if len(name) > MAX_GROUP_NAME:
        raise BadRequest(f"group_name may hold at most {MAX_GROUP_NAME} characters", {"field": "group_name"})
    return check_text(name, "group_name")


def normal_dn(dn: object) -> str:
    """An LDAP group's DN as Harbor keeps it (trimmed, lower case), checked for shape: at least
    one `attribute=value` part, no control characters."""
    if not isinstance(dn, str) or not dn.strip():
        raise BadRequest("ldap_group_dn is required for an LDAP group", {"field": "ldap_group_dn"})
    dn = dn.strip().lower()
    if len(dn) > MAX_DN:
        raise BadRequest(f"ldap_group_dn may hold at most {MAX_DN} characters", {"field": "ldap_group_dn"})
    check_text(dn, "ldap_group_dn")
    if any("=" not in part or not part.split("=", 1)[0].strip() for part in dn.split(",")):
        raise BadRequest("ldap_group_dn is not a distinguished name (attribute=value, ...)",
                         {"field": "ldap_group_dn"})
    return dn


class UserGroups(RegistryAggregate):
    """The directory of every user group."""

    class Created(RegistryAggregate.Created):
        """The directory of user groups came into being (with the first group)."""

    class GroupCreated(RegistryAggregate.Event):
        """A user group was created, by an administrator or onboarded at a member's sign-in."""

        group_id: int
        group_name: str
        group_type: int
        ldap_group_dn: str

        def apply(self, groups: "UserGroups") -> None:
            groups.groups[self.group_id] = (self.group_name, self.group_type, self.ldap_group_dn)
            groups.next_id = max(groups.next_id, self.group_id + 1)

    class GroupRenamed(RegistryAggregate.Event):
        """A user group's name changed (its type and DN never do)."""

        group_id: int
        group_name: str
        previous_name: str

        def apply(self, groups: "UserGroups") -> None:
            _, group_type, dn = groups.groups[self.group_id]
            groups.groups[self.group_id] = (self.group_name, group_type, dn)

    class GroupDeleted(RegistryAggregate.Event):
        """A user group was deleted; its id is never given to another group."""

        group_id: int
        group_name: str
        group_type: int
        ldap_group_dn: str

        def apply(self, groups: "UserGroups") -> None:
            groups.groups.pop(self.group_id, None)

    def __init__(self) -> None:
        self.groups: dict[int, tuple[str, int, str]] = {}  # id -> (name, type, ldap dn)
        self.next_id = 1

    @classmethod
    def start(cls, actor: Actor) -> "UserGroups":
        return cls._create(cls.Created, id=directory_id(), **actor.fields())

    def group(self, group_id: int) -> tuple[str, int, str]:
        if group_id not in self.groups:
            raise NotFound(f"the user group with id {group_id} is not found", {"group_id": group_id})
        return self.groups[group_id]

    def by_name(self, name: str, group_type: int) -> int | None:
        return next((gid for gid, (n, t, _) in self.groups.items() if n == name and t == group_type), None)

    def by_dn(self, dn: str) -> int | None:
        return next((gid for gid, (_, t, d) in self.groups.items() if t == LDAP_GROUP and d == dn), None)

    def create_group(self, name: object, group_type: object, ldap_group_dn: object, actor: Actor) -> int:
        """A new group (Harbor's POST /usergroups): 409 if its name is taken within its type
        or, for an LDAP group, its DN is already a group."""
        group_type = check_group_type(group_type)
        name = check_group_name(name)
        dn = normal_dn(ldap_group_dn) if group_type == LDAP_GROUP else ""
        if self.by_name(name, group_type) is not None:
            raise Conflict(f"duplicate user group, group name: {name}, group type: {group_type}",
                           {"group_name": name})
        if dn and self.by_dn(dn) is not None:
            raise Conflict(f"ldap_group_dn {dn} already exists", {"ldap_group_dn": dn})
        return self._add(name, group_type, dn, actor)

    def onboard(self, group_type: object, name: object, ldap_group_dn: object, actor: Actor) -> int:
        """The id of a group a directory or identity provider names, created if not known yet
        (Harbor's onboarding): LDAP groups are known by DN, taking the DN as name when their
        name is another group's; HTTP and OIDC groups by name."""
        group_type = check_group_type(group_type)
        if group_type == LDAP_GROUP:
            dn = normal_dn(ldap_group_dn)
            known = self.by_dn(dn)
            if known is not None:
                return known
            name = check_group_name(name) if name else dn[:MAX_GROUP_NAME]
            if self.by_name(name, LDAP_GROUP) is not None:
                name = dn[:MAX_GROUP_NAME]
            if self.by_name(name, LDAP_GROUP) is not None:
                raise Conflict(f"an LDAP group is already named {name}", {"group_name": name})
            return self._add(name, LDAP_GROUP, dn, actor)
        name = check_group_name(name)
        known = self.by_name(name, group_type)
        return known if known is not None else self._add(name, group_type, "", actor)

    def rename(self, group_id: int, name: object, actor: Actor) -> None:
        """Harbor's PUT /usergroups/{id}: only the name changes."""
        old, group_type, _ = self.group(group_id)
        name = check_group_name(name)
        if name == old:
            return
        if self.by_name(name, group_type) is not None:
            raise Conflict(f"duplicate user group, group name: {name}, group type: {group_type}",
                           {"group_name": name})
        self.trigger_event(self.GroupRenamed, group_id=group_id, group_name=name, previous_name=old,
                           **actor.fields())

    def delete_group(self, group_id: int, actor: Actor) -> tuple[str, int, str]:
        name, group_type, dn = self.group(group_id)
        self.trigger_event(self.GroupDeleted, group_id=group_id, group_name=name, group_type=group_type,
                           ldap_group_dn=dn, **actor.fields())
        return name, group_type, dn

    def _add(self, name: str, group_type: int, dn: str, actor: Actor) -> int:
        group_id = self.next_id
        self.trigger_event(self.GroupCreated, group_id=group_id, group_name=name, group_type=group_type,
                           ldap_group_dn=dn, **actor.fields())
        return group_id
