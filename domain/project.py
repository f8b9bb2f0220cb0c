"""A project: the namespace that owns repositories, public or private, with members."""

from domain.base import Actor, RegistryAggregate
from domain.errors import BadRequest, Conflict, NameInvalid, NotFound
from domain.names import check_project, stream_id
from domain.iam.roles import ROLE_NAMES
from domain.project_settings import check_allowlist, check_key, check_metadata, check_pattern


def project_id(name: str):
    return stream_id("project", name)


def check_new_project_name(name: str) -> str:
    """A name for a new project: valid, and not all digits, so that it never reads as a
    project id where the API accepts either."""
    check_project(name)
    if name.isdigit():
        raise NameInvalid("a project name cannot be all digits (it would read as a project id)",
                          {"name": name[:300]})
    return name


def check_role(role: int) -> int:
    if role not in ROLE_NAMES:
        raise BadRequest("role_id must be 1 (projectAdmin), 2 (developer), 3 (guest), "
                         "4 (maintainer) or 5 (limitedGuest)", {"field": "role_id"})
    return role


class Project(RegistryAggregate):
    registry_id = 0  # the proxied registry endpoint of a proxy-cache project (0: none)
    class Created(RegistryAggregate.Created):
        """A project came into being."""

        name: str
        public: bool

    class VisibilityChanged(RegistryAggregate.Event):
        """A project became public or private."""

        name: str
        public: bool

        def apply(self, project: "Project") -> None:
            project.public = self.public

    class MetadataChanged(RegistryAggregate.Event):
        """Metadata keys of the project (other than `public`) were set or removed; `previous`
        holds the values they had (absent: the key was not set)."""

        name: str
        changed: dict[str, str]
        removed: list[str]
        previous: dict[str, str]

        def apply(self, project: "Project") -> None:
            project.metadata.update(self.changed)
            for key in self.removed:
                project.metadata.pop(key, None)

    class CveAllowlistChanged(RegistryAggregate.Event):
        """The project's CVE allowlist was replaced (`expires_at`: seconds since the epoch,
        None for never)."""

        name: str
        items: list[str]
        expires_at: int | None

        def apply(self, project: "Project") -> None:
            project.allowlist = (list(self.items), self.expires_at)

    class MemberAdded(RegistryAggregate.Event):
        """A user became a member of the project with a role."""

        name: str
        member: str
        role: int

        def apply(self, project: "Project") -> None:
            project.members[self.member] = self.role

    class MemberRoleChanged(RegistryAggregate.Event):
        """A member's role in the project changed."""

        name: str
        member: str
        role: int
        previous_role: int

        def apply(self, project: "Project") -> None:
            project.members[self.member] = self.role

    class MemberRemoved(RegistryAggregate.Event):
        """A user stopped being a member of the project."""

        name: str
        member: str
        previous_role: int

        def apply(self, project: "Project") -> None:
            project.members.pop(self.member, None)

    class GroupMemberAdded(RegistryAggregate.Event):
        """A user group became a member of the project with a role: its members hold it."""

        name: str
        group_id: int
        group_name: str
        role: int

        def apply(self, project: "Project") -> None:
            project.group_members[self.group_id] = self.role

    class GroupMemberRoleChanged(RegistryAggregate.Event):
        """A member group's role in the project changed."""

        name: str
        group_id: int
        role: int
        previous_role: int

        def apply(self, project: "Project") -> None:
            project.group_members[self.group_id] = self.role

    class GroupMemberRemoved(RegistryAggregate.Event):
        """A user group stopped being a member of the project (removed, or the group deleted)."""

        name: str
        group_id: int
        previous_role: int

        def apply(self, project: "Project") -> None:
            project.group_members.pop(self.group_id, None)

    class Recreated(RegistryAggregate.Event):
        """A project was created again under the name of a deleted one: a new generation, with
        no members and none of the deleted project's streams."""

        class_version = 2
        name: str
        public: bool
        generation: int  # 0 in events written before generations: the streams stayed shared

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["generation"] = 0

        def apply(self, project: "Project") -> None:
            project.public = self.public
            project.members = {}
            project.group_members = {}
            project.metadata = {}
            project.allowlist = ([], None)
            project.registry_id = 0
            project.deleted = False
            if self.generation:
                project.generation = self.generation

    class ProxyCacheSet(RegistryAggregate.Event):
        """The project became a proxy cache (pull-through) of registry endpoint `registry_id`,
        at its creation; a project's proxy registry never changes (as in Harbor)."""

        name: str
        registry_id: int

        def apply(self, project: "Project") -> None:
            project.registry_id = self.registry_id

    class Deleted(RegistryAggregate.Event):
        """A project was deleted."""

        name: str

        def apply(self, project: "Project") -> None:
            project.deleted = True

    def __init__(self, name: str, public: bool) -> None:
        self.name = name
        self.public = public
        self.members: dict[str, int] = {}
        self.group_members: dict[int, int] = {}  # user group id -> role
        self.metadata: dict[str, str] = {}  # every key but `public` (domain/project_settings.py)
        self.allowlist: tuple[list[str], int | None] = ([], None)
        self.deleted = False
        self.generation = 1  # streams inside the project are keyed by it (domain/names.py)

    @classmethod
    def create(cls, name: str, public: bool, actor: Actor) -> "Project":
        check_new_project_name(name)
        return cls._create(
            cls.Created, id=project_id(name), name=name, public=public, **actor.fields()
        )

    def recreate(self, public: bool, actor: Actor) -> None:
        check_new_project_name(self.name)
        if not self.deleted:
            raise Conflict(f"project {self.name} already exists")
        self.trigger_event(self.Recreated, name=self.name, public=public, generation=self.generation + 1,
                           **actor.fields())

    def use_proxy_registry(self, registry_id: int, actor: Actor) -> None:
        """Make the project a proxy cache of a registry endpoint; only once (Harbor's rule)."""
        self._alive()
        if isinstance(registry_id, bool) or not isinstance(registry_id, int) or registry_id <= 0:
            raise BadRequest("registry_id must be the id of a registry endpoint", {"field": "registry_id"})
        if self.registry_id == registry_id:
            return
        if self.registry_id:
            raise BadRequest("a project's proxy registry cannot change", {"field": "registry_id"})
        self.trigger_event(self.ProxyCacheSet, name=self.name, registry_id=registry_id, **actor.fields())

    def set_public(self, public: bool, actor: Actor) -> None:
        self._alive()
        if public != self.public:
            self.trigger_event(self.VisibilityChanged, name=self.name, public=public, **actor.fields())

    def set_metadata(self, values: dict[str, object], actor: Actor) -> None:
        """Set metadata keys (a merge: keys not named keep their values), `public` included;
        nothing is recorded for values that do not change."""
        self._alive()
        checked = check_metadata(values)
        public = checked.pop("public", None)
        check_pattern({**self.metadata, **checked})
        changed = {k: v for k, v in checked.items() if self.metadata.get(k) != v}
        if public is not None:
            self.set_public(public == "true", actor)
        if changed:
            previous = {k: self.metadata[k] for k in changed if k in self.metadata}
            self.trigger_event(self.MetadataChanged, name=self.name, changed=changed, removed=[],
                               previous=previous, **actor.fields())

    def add_metadata(self, values: dict[str, object], actor: Actor) -> None:
        """Add metadata keys that are not set yet (`public` always is): 409 naming a key that is."""
        self._alive()
        for key in sorted(values):
            if key == "public" or key in self.metadata:
                raise Conflict(f"metadata {key} is already set; update it instead", {"meta_name": key})
        self.set_metadata(values, actor)

    def remove_metadata(self, key: str, actor: Actor) -> None:
        """Remove a metadata key: 404 if it is not set. `public` cannot go (every project is
        public or private): removing it makes the project private, as Harbor then treats it."""
        self._alive()
        check_key(key)
        if key == "public":
            self.set_public(False, actor)
            return
        if key not in self.metadata:
            raise NotFound(f"metadata {key} is not set", {"meta_name": key})
        self.trigger_event(self.MetadataChanged, name=self.name, changed={}, removed=[key],
                           previous={key: self.metadata[key]}, **actor.fields())

    def set_allowlist(self, items: list[object], expires_at: object, actor: Actor) -> None:
        """Replace the CVE allowlist; nothing is recorded when it does not change."""
        self._alive()
        allowlist = check_allowlist(items, expires_at)
        if allowlist != self.allowlist:
            self.trigger_event(self.CveAllowlistChanged, name=self.name, items=allowlist[0],
                               expires_at=allowlist[1], **actor.fields())

    def add_member(self, member: str, role: int, actor: Actor) -> None:
        self._alive()
        check_role(role)
        if member in self.members:
            raise Conflict("already a member of the project", {"member": member})
        self.trigger_event(self.MemberAdded, name=self.name, member=member, role=role, **actor.fields())

    def change_role(self, member: str, role: int, actor: Actor) -> None:
        self._alive()
        check_role(role)
        previous = self._role_of(member)
        if role != previous:
            self.trigger_event(self.MemberRoleChanged, name=self.name, member=member, role=role,
                               previous_role=previous, **actor.fields())

    def remove_member(self, member: str, actor: Actor) -> None:
        self._alive()
        previous = self._role_of(member)
        self.trigger_event(self.MemberRemoved, name=self.name, member=member,
                           previous_role=previous, **actor.fields())

    def add_group_member(self, group_id: int, group_name: str, role: int, actor: Actor) -> None:
        self._alive()
        check_role(role)
        if group_id in self.group_members:
            raise Conflict("the group is already a member of the project", {"group_id": group_id})
        self.trigger_event(self.GroupMemberAdded, name=self.name, group_id=group_id,
                           group_name=group_name, role=role, **actor.fields())

    def change_group_role(self, group_id: int, role: int, actor: Actor) -> None:
        self._alive()
        check_role(role)
        previous = self._group_role_of(group_id)
        if role != previous:
            self.trigger_event(self.GroupMemberRoleChanged, name=self.name, group_id=group_id,
                               role=role, previous_role=previous, **actor.fields())

    def remove_group_member(self, group_id: int, actor: Actor) -> None:
        self._alive()
        previous = self._group_role_of(group_id)
        self.trigger_event(self.GroupMemberRemoved, name=self.name, group_id=group_id,
                           previous_role=previous, **actor.fields())

    def _group_role_of(self, group_id: int) -> int:
        if group_id not in self.group_members:
            raise NotFound("the group is not a member of the project", {"group_id": group_id})
        return self.group_members[group_id]

    def delete(self, actor: Actor) -> None:
        self._alive()
        self.trigger_event(self.Deleted, name=self.name, **actor.fields())

    def _role_of(self, member: str) -> int:
        if member not in self.members:
            raise NotFound("not a member of the project", {"member": member})
        return self.members[member]

    def _alive(self) -> None:
        if self.deleted:
            raise NotFound("project not found", {"name": self.name})
