"""Handler for a repository's description."""

from typing import Any

import msgspec

from commands.retries import retried
from commands.artifacts.messages import Outcome
from domain.base import Actor
from domain.errors import NotFound
from domain.names import project_of
from domain.project import Project, project_id
from domain.artifacts.repository_info import RepositoryInfo, check_description, repository_info_id


class DescribeRepository(msgspec.Struct, frozen=True):
    repository: str
    description: Any  # checked by the aggregate: a string of at most 1024 characters
    actor: Actor


class RepositoryInfoCommands:
    def __init__(self, app) -> None:
        self.app = app

    @retried
    def describe_repository(self, c: DescribeRepository) -> Outcome:
        """Set the description; an unchanged one records nothing."""
        owner = self.app.find(project_id(project_of(c.repository)), Project)
        if owner is None or owner.deleted:
            raise NotFound("project not found", {"repository": c.repository})
        info = self.app.find(repository_info_id(c.repository, owner.generation), RepositoryInfo)
        if info is None:
            if check_description(c.description) == "":
                return Outcome()  # no description yet, and none asked for
            info = RepositoryInfo.describe(c.repository, c.description, c.actor, generation=owner.generation)
        elif not info.change_description(c.description, c.actor):
            return Outcome()
        recordings = self.app.save(info)
        return Outcome(position=recordings[0].notification.id if recordings else None)
