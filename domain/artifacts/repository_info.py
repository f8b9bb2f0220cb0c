"""What a repository says about itself (its description): one small stream per repository,
apart from its manifests and tags, so editing it never replays a push history."""

from typing import Any

from domain.base import Actor, RegistryAggregate
from domain.errors import BadRequest
from domain.names import check_text, project_of, project_stream_id

MAX_DESCRIPTION = 1024


def repository_info_id(repository: str, generation: int):
    return project_stream_id("repository-info", generation, repository)


def check_description(description: Any) -> str:
    """The description if it is a string of at most 1024 characters."""
    if not isinstance(description, str):
        raise BadRequest("description must be a string", {"field": "description"})
    if len(description) > MAX_DESCRIPTION:
        raise BadRequest(f"description must be at most {MAX_DESCRIPTION} characters",
                         {"field": "description"})
    return check_text(description, "description", multiline=True)


class RepositoryInfo(RegistryAggregate):
    class Described(RegistryAggregate.Created):
        """A repository was given its first description."""

        repository: str
        project: str
        description: str

    class DescriptionChanged(RegistryAggregate.Event):
        """A repository's description was replaced."""

        repository: str
        project: str
        description: str
        previous: str

        def apply(self, info: "RepositoryInfo") -> None:
            info.description = self.description

    def __init__(self, repository: str, project: str, description: str) -> None:
        self.repository, self.project, self.description = repository, project, description

    @classmethod
    def describe(cls, repository: str, description: Any, actor: Actor, *,
                 generation: int) -> "RepositoryInfo":
        return cls._create(cls.Described, id=repository_info_id(repository, generation), repository=repository,
                           project=project_of(repository), description=check_description(description),
                           **actor.fields())

    def change_description(self, description: Any, actor: Actor) -> bool:
        """Record the new description; False (and no event) when it is the one already set."""
        if check_description(description) == self.description:
            return False
        self.trigger_event(self.DescriptionChanged, repository=self.repository, project=self.project,
                           description=description, previous=self.description, **actor.fields())
        return True
