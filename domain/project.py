"""A project: the namespace that owns repositories, public or private, with members."""

from domain.base import Actor, RegistryAggregate
from domain.errors import BadRequest, Conflict, NameInvalid, NotFound
from domain.names import check_project, stream_id
from domain.iam.roles import ROLE_NAMES


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
            project.deleted = False
            if self.generation:
                project.generation = self.generation

    class Deleted(RegistryAggregate.Event):
        """A project was deleted."""

        name: str

        def apply(self, project: "Project") -> None:
            project.deleted = True

    def __init__(self, name: str, public: bool) -> None:
        self.name = name
        self.public = public
        self.members: dict[str, int] = {}
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

    def set_public(self, public: bool, actor: Actor) -> None:
        self._alive()
        if public != self.public:
            self.trigger_event(self.VisibilityChanged, name=self.name, public=public, **actor.fields())

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
