"""Handlers for labels and labelling artifacts."""

import msgspec

from commands.handlers import retried
from commands.messages import Outcome
from domain.base import Actor
from domain.errors import NotFound
from domain.label import ArtifactLabel, Label, artifact_label_id, label_id
from domain.manifest import Manifest, manifest_id


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

    def _save(self, aggregate) -> Outcome:
        recordings = self.app.save(aggregate)
        return Outcome(position=recordings[0].notification.id if recordings else None)

    @retried
    def create_label(self, c: PutLabel) -> Outcome:
        label = self.app.find(label_id(c.scope, c.project, c.name), Label)
        if label is None:
            label = Label.create(c.name, c.description, c.color, c.scope, c.project, c.actor)
        else:
            label.recreate(c.description, c.color, c.actor)
        return self._save(label)

    @retried
    def change_label(self, c: ChangeLabel) -> Outcome:
        label = self.app.find(label_id(c.scope, c.project, c.name), Label)
        if label is None:
            raise NotFound("label not found", {"name": c.name})
        if c.delete:
            label.delete(c.actor)
        else:
            label.update(c.description, c.color, c.actor)
        return self._save(label)

    @retried
    def label_artifact(self, c: LabelArtifact) -> Outcome:
        manifest = self.app.find(manifest_id(c.repository, c.digest), Manifest)
        if manifest is None or manifest.deleted:
            raise NotFound("artifact not found", {"digest": c.digest})
        link = self.app.find(artifact_label_id(c.repository, c.digest, c.label), ArtifactLabel)
        if c.on:
            if link is None:
                link = ArtifactLabel.add(c.repository, c.digest, c.label, c.actor)
            else:
                link.add_again(c.actor)
        elif link is None:
            raise NotFound("the artifact does not have this label", {"label": c.label})
        else:
            link.remove(c.actor)
        return self._save(link)
