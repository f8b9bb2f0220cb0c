"""A project: the namespace that owns repositories, public or private."""

from domain.base import Actor, RegistryAggregate
from domain.names import check_project, stream_id


def project_id(name: str):
    return stream_id("project", name)


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

    def __init__(self, name: str, public: bool) -> None:
        self.name = name
        self.public = public

    @classmethod
    def create(cls, name: str, public: bool, actor: Actor) -> "Project":
        check_project(name)
        return cls._create(
            cls.Created, id=project_id(name), name=name, public=public, **actor.fields()
        )

    def set_public(self, public: bool, actor: Actor) -> None:
        if public != self.public:
            self.trigger_event(self.VisibilityChanged, name=self.name, public=public, **actor.fields())
