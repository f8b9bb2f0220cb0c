"""Commands on a project's metadata and CVE allowlist (domain/project_settings.py)."""

import msgspec

from commands.application import RegistryApplication
from commands.artifacts.messages import Outcome
from commands.retries import retried
from domain.base import Actor
from domain.errors import NotFound
from domain.project import Project, project_id


class Allowlist(msgspec.Struct, frozen=True):
    items: list  # CVE ids, checked by the aggregate
    expires_at: object = None


class ConfigureProject(msgspec.Struct, frozen=True):
    """Set metadata keys (a merge) and, if given, replace the CVE allowlist, in one save."""

    project: str
    metadata: dict[str, object]
    actor: Actor
    allowlist: Allowlist | None = None
    adding: bool = False  # POST /metadatas: keys already set are a conflict


class RemoveProjectMetadata(msgspec.Struct, frozen=True):
    project: str
    key: str
    actor: Actor


class ProjectSettingsCommands:
    def __init__(self, app: RegistryApplication) -> None:
        self.app = app

    def _project(self, name: str) -> Project:
        project = self.app.find(project_id(name), Project)
        if project is None or project.deleted:
            raise NotFound("project not found", {"project": name})
        return project

    def _save(self, project: Project) -> Outcome:
        recordings = self.app.save(project)
        return Outcome(position=max((r.notification.id for r in recordings), default=None))

    @retried
    def configure(self, c: ConfigureProject) -> Outcome:
        project = self._project(c.project)
        if c.adding:
            project.add_metadata(c.metadata, c.actor)
        else:
            configure(project, c.metadata, c.allowlist, c.actor)
        return self._save(project)

    @retried
    def remove_metadata(self, c: RemoveProjectMetadata) -> Outcome:
        project = self._project(c.project)
        project.remove_metadata(c.key, c.actor)
        return self._save(project)


def configure(project: Project, metadata: dict[str, object], allowlist: Allowlist | None,
              actor: Actor) -> None:
    """Apply metadata and an allowlist to a project (also at its creation, in the same save)."""
    project.set_metadata(metadata, actor)
    if allowlist is not None:
        project.set_allowlist(allowlist.items, allowlist.expires_at, actor)
