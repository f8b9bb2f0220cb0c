"""Handlers for labels and labelling artifacts."""

import msgspec

from commands.retries import retried
from commands.artifacts.messages import Outcome
from domain.base import Actor
from domain.errors import NotFound
from domain.label import ArtifactLabel, Label, artifact_label_id, label_id
from domain.artifacts.manifest import Manifest, manifest_id
from domain.names import project_of
from domain.project import Project, project_id


class PutLabel(msgspec.Struct, frozen=True):
    name: str
    description: str
    color: str
    scope: str
    project: str | None
    actor: Actor


class ChangeLabel(msgspec.Struct, frozen=True):
    scope: str
    project: str | None
    name: str
    description: str
    color: str
    delete: bool
    actor: Actor


class LabelArtifact(msgspec.Struct, frozen=True):
    repository: str
    digest: str
    label: int
    on: bool
    actor: Actor


class LabelCommands:
    def __init__(self, app) -> None:
        self.app = app

    def _generation(self, project: str | None) -> int:
        """Global labels have one generation; a project label the generation of its project."""
        if project is None:
            return 1
        owner = self.app.find(project_id(project), Project)
        if owner is None or owner.deleted:
            raise NotFound("project not found", {"project": project})
        return owner.generation

    def _save(self, aggregate) -> Outcome:
        recordings = self.app.save(aggregate)
        return Outcome(position=recordings[0].notification.id if recordings else None)

    @retried
    def create_label(self, c: PutLabel) -> Outcome:
        generation = self._generation(c.project)
        label = self.app.find(label_id(c.scope, c.project, c.name, generation), Label)
        if label is None:
            label = Label.create(c.name, c.description, c.color, c.scope, c.project, c.actor,
                                 generation=generation)
        else:
            label.recreate(c.description, c.color, c.actor)
        return self._save(label)

    @retried
    def change_label(self, c: ChangeLabel) -> Outcome:
        label = self.app.find(label_id(c.scope, c.project, c.name, self._generation(c.project)), Label)
        if label is None:
            raise NotFound("label not found", {"name": c.name})
        if c.delete:
            label.delete(c.actor)
        else:
            label.update(c.description, c.color, c.actor)
        return self._save(label)

    @retried
    def label_artifact(self, c: LabelArtifact) -> Outcome:
        generation = self._generation(project_of(c.repository))
        manifest = self.app.find(manifest_id(c.repository, c.digest, generation), Manifest)
        if manifest is None or manifest.deleted:
            raise NotFound("artifact not found", {"digest": c.digest})
        link = self.app.find(artifact_label_id(c.repository, c.digest, c.label, generation), ArtifactLabel)
        if c.on:
            if link is None:
                link = ArtifactLabel.add(c.repository, c.digest, c.label, c.actor, generation=generation)
            else:
                link.add_again(c.actor)
        elif link is None:
            raise NotFound("the artifact does not have this label", {"label": c.label})
        else:
            link.remove(c.actor)
        return self._save(link)
