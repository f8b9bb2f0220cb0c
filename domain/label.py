"""Labels (global or per project) and their attachment to artifacts."""

import re

from domain.base import Actor, RegistryAggregate
from domain.errors import BadRequest, Conflict, NotFound
from domain.names import check_text, project_stream_id

COLOR = re.compile(r"#[0-9a-fA-F]{6}")


def label_id(scope: str, project: str | None, name: str, generation: int = 1):
    """Global labels (no project) have one generation."""
    return project_stream_id("label", generation, scope, project or "", name)


def artifact_label_id(repository: str, digest: str, label: int, generation: int):
    return project_stream_id("artifact-label", generation, repository, digest, str(label))


def check_label(name: str, color: str, scope: str) -> None:
    if not 1 <= len(name) <= 128:
        raise BadRequest("name must be 1 to 128 characters", {"field": "name"})
    check_text(name, "name")
    if color and not COLOR.fullmatch(color):
        raise BadRequest("color must look like #1A2B3C", {"field": "color"})
    if scope not in ("g", "p"):
        raise BadRequest("scope must be g (global) or p (project)", {"field": "scope"})


class Label(RegistryAggregate):
    class Created(RegistryAggregate.Created):
        """A label was defined."""

        name: str
        description: str
        color: str
        scope: str
        project: str | None

    class Recreated(RegistryAggregate.Event):
        """A label was defined again under the name of a deleted one."""

        name: str
        description: str
        color: str

        def apply(self, label: "Label") -> None:
            label.description, label.color, label.deleted = self.description, self.color, False

    class Updated(RegistryAggregate.Event):
        """A label's description or color changed."""

        name: str
        description: str
        color: str

        def apply(self, label: "Label") -> None:
            label.description, label.color = self.description, self.color

    class Deleted(RegistryAggregate.Event):
        """A label was deleted (and removed from every artifact)."""

        name: str

        def apply(self, label: "Label") -> None:
            label.deleted = True

    def __init__(self, name: str, description: str, color: str, scope: str, project: str | None) -> None:
        self.name, self.description, self.color = name, description, color
        self.scope, self.project = scope, project
        self.deleted = False

    @classmethod
    def create(cls, name: str, description: str, color: str, scope: str, project: str | None,
               actor: Actor, *, generation: int = 1) -> "Label":
        check_label(name, color, scope)
        check_text(description, "description", multiline=True)
        return cls._create(cls.Created, id=label_id(scope, project, name, generation), name=name,
                           description=description[:1024], color=color, scope=scope, project=project,
                           **actor.fields())

    def recreate(self, description: str, color: str, actor: Actor) -> None:
        if not self.deleted:
            raise Conflict("a label with that name exists", {"name": self.name})
        check_label(self.name, color, self.scope)
        self.trigger_event(self.Recreated, name=self.name, description=description[:1024], color=color,
                           **actor.fields())

    def update(self, description: str, color: str, actor: Actor) -> None:
        if self.deleted:
            raise NotFound("label not found", {"name": self.name})
        check_label(self.name, color, self.scope)
        check_text(description, "description", multiline=True)
        self.trigger_event(self.Updated, name=self.name, description=description[:1024], color=color,
                           **actor.fields())

    def delete(self, actor: Actor) -> None:
        if self.deleted:
            raise NotFound("label not found", {"name": self.name})
        self.trigger_event(self.Deleted, name=self.name, **actor.fields())


class ArtifactLabel(RegistryAggregate):
    class Added(RegistryAggregate.Created):
        """A label was put on an artifact."""

        repository: str
        digest: str
        label: int

    class AddedAgain(RegistryAggregate.Event):
        """A label removed earlier was put on the artifact again."""

        repository: str
        digest: str
        label: int

        def apply(self, link: "ArtifactLabel") -> None:
            link.on = True

    class Removed(RegistryAggregate.Event):
        """A label was taken off an artifact."""

        repository: str
        digest: str
        label: int

        def apply(self, link: "ArtifactLabel") -> None:
            link.on = False

    def __init__(self, repository: str, digest: str, label: int) -> None:
        self.repository, self.digest, self.label = repository, digest, label
        self.on = True

    @classmethod
    def add(cls, repository: str, digest: str, label: int, actor: Actor, *,
            generation: int) -> "ArtifactLabel":
        return cls._create(cls.Added, id=artifact_label_id(repository, digest, label, generation),
                           repository=repository,
                           digest=digest, label=label, **actor.fields())

    def add_again(self, actor: Actor) -> None:
        if self.on:
            raise Conflict("the artifact already has this label", {"label": self.label})
        self.trigger_event(self.AddedAgain, repository=self.repository, digest=self.digest, label=self.label,
                           **actor.fields())

    def remove(self, actor: Actor) -> None:
        if not self.on:
            raise NotFound("the artifact does not have this label", {"label": self.label})
        self.trigger_event(self.Removed, repository=self.repository, digest=self.digest, label=self.label,
                           **actor.fields())
