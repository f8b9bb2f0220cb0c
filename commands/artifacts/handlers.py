"""Command handlers of the registry core (projects, blobs, manifests, tags, uploads): load
the aggregates a command touches, apply it, save atomically (retried on conflicts:
commands/retries.py).
"""

from typing import Callable

from commands.application import RegistryApplication
from commands.quota_accounting import QuotaAccounting
from commands.retries import retried
from commands.project_settings import configure
from commands.artifacts.messages import (
    AbandonUpload, AddTag, CreateProject, DeleteManifest, DeleteRepository, LinkBlob, MountBlob,
    Outcome, PushManifest, RemoveTag, UndeleteManifest, UnlinkBlob,
)
from domain.base import Actor
from domain.artifacts.blob_link import BlobLink, blob_link_id
from domain.errors import (
    BlobUnknown, Denied, ManifestBlobUnknown, ManifestUnknown, NameUnknown, ProjectExists,
)
from domain.immutability import ImmutabilityRules, immutability_id
from domain.artifacts.manifest import Manifest, manifest_id
from domain.names import project_of
from domain.project import Project, project_id
from domain.iam.roles import PROJECT_ADMIN
from domain.artifacts.tag import Tag, tag_id
from domain.artifacts.upload import Upload

class RegistryCommands:
    """The registry's write side: one method per command."""

    def __init__(self, app: RegistryApplication) -> None:
        self.app = app
        self.quotas = QuotaAccounting(app)

    def _save(self, *aggregates) -> Outcome:
        recordings = self.app.save(*{id(a): a for a in aggregates}.values())
        position = max((r.notification.id for r in recordings), default=None)
        return Outcome(position=position)

    def require_project(self, repository: str) -> Project:
        project = self.app.find(project_id(project_of(repository)), Project)
        if project is None or project.deleted:
            raise NameUnknown("repository name not known to registry: its project does not exist",
                              {"name": repository})
        return project

    def generation(self, repository: str) -> int:
        """The generation of the repository's project: the streams inside it are keyed by it."""
        return self.require_project(repository).generation

    def check_mutable(self, repository: str, tags: list[str], doing: str, generation: int) -> None:
        """Refuse with DENIED if an immutability rule protects any of these tags."""
        rules = self.app.find(immutability_id(project_of(repository), generation), ImmutabilityRules)
        if rules is None or not rules.rules:
            return
        for tag in tags:
            rule = rules.protecting(repository, tag)
            if rule is not None:
                raise Denied(f"cannot {doing}: tag {tag} of {repository} is immutable "
                             f"(immutability rule {rule.id})", {"tag": tag, "rule": rule.id})

    @retried
    def create_project(self, command: CreateProject) -> Outcome:
        existing = self.app.find(project_id(command.name), Project)
        if existing is not None and not existing.deleted:
            raise ProjectExists(f"project {command.name} already exists")
        if existing is None:
            project = Project.create(command.name, command.public, command.actor)
        else:
            project = existing
            project.recreate(command.public, command.actor)
        if command.registry_id:  # before the metadata: a proxy project is one from its first event on
            project.use_proxy_registry(command.registry_id, command.actor)
        if command.owner:
            project.add_member(command.owner, PROJECT_ADMIN, command.actor)
        configure(project, command.metadata, command.allowlist, command.actor)
        recordings = self.app.save(project)
        # The project's id is the position of the event that created it, the first one saved.
        return Outcome(position=recordings[0].notification.id)

    @retried
    def link_blob(self, command: LinkBlob) -> Outcome:
        g = self.generation(command.repository)
        link = self._link(command.repository, command.digest, command.size, None, command.actor, g)
        return self._save(link, *self._charges(link, command.repository, command.digest,
                                               command.size, command.actor, g))

    def _charges(self, link: BlobLink, repository: str, digest: str, size: int, actor, g: int) -> list:
        """Quota aggregates to save with a link that is new (or linked again)."""
        if not link.pending_events:  # already linked: nothing new to charge
            return []
        return self.quotas.charge(repository, digest, size, actor, g)

    def _link(self, repository, digest, size, mounted_from, actor, g: int) -> BlobLink:
        link = self.app.find(blob_link_id(repository, digest, g), BlobLink)
        if link is None:
            return BlobLink.create(repository, digest, size, mounted_from, actor, generation=g)
        link.relink(size, mounted_from, actor)
        return link

    @retried
    def mount_blob(self, command: MountBlob) -> Outcome:
        """Link a blob held by another repository; BlobUnknown if it holds none."""
        g = self.generation(command.repository)
        source = self.app.find(blob_link_id(command.from_repository, command.digest,
                                            self.generation(command.from_repository)), BlobLink)
        if source is None or not source.linked:
            raise BlobUnknown("blob not in the source repository", {"digest": command.digest})
        link = self._link(command.repository, command.digest, source.size,
                          command.from_repository, command.actor, g)
        outcome = self._save(link, *self._charges(link, command.repository, command.digest,
                                                  source.size, command.actor, g))
        return Outcome(position=outcome.position, size=source.size)

    @retried
    def unlink_blob(self, command: UnlinkBlob) -> Outcome:
        g = self.generation(command.repository)
        link = self.app.find(blob_link_id(command.repository, command.digest, g), BlobLink)
        if link is None or not link.linked:
            raise BlobUnknown("blob unknown to registry", {"digest": command.digest})
        link.unlink(command.actor)
        return self._save(link, *self.quotas.release(command.repository, command.digest, command.actor, g))

    @retried
    def push_manifest(self, command: PushManifest, store: Callable[[], None] | None = None) -> Outcome:
        """Record a manifest push; `store` keeps its bytes, called only once every check passed
        (references, quota, immutability), so a refused push leaves nothing in storage."""
        g = self.generation(command.repository)
        self._require_references(command, g)
        manifest = self.app.find(manifest_id(command.repository, command.digest, g), Manifest)
        if manifest is None:
            manifest = Manifest.push(command.repository, command.digest, command.size,
                                     command.parsed, command.actor, generation=g)
        else:
            manifest.push_again(command.size, command.parsed, command.actor)
        touched = [manifest]
        if manifest.pending_events:  # the manifest's own bytes count toward the quota
            touched += self.quotas.charge(command.repository, command.digest, command.size, command.actor, g)
        if command.tag is not None:
            pushed = not manifest.pending_events  # the push only tags a manifest already here
            tag = self.app.find(tag_id(command.repository, command.tag, g), Tag)
            if tag is None:
                tag = Tag.create(command.repository, command.tag, command.digest, command.actor,
                                 pushed=pushed, generation=g)
            else:
                if tag.digest not in (None, command.digest):
                    self.check_mutable(command.repository, [command.tag], "overwrite the tag", g)
                tag.point_at(command.digest, command.actor, pushed=pushed)
            touched.append(tag)
        if store is not None:
            store()
        return self._save(*touched)

    def _require_references(self, command: PushManifest, g: int) -> None:
        for digest in command.parsed.blobs:
            link = self.app.find(blob_link_id(command.repository, digest, g), BlobLink)
            if link is None or not link.linked:
                raise ManifestBlobUnknown("manifest references a blob the repository lacks",
                                          {"digest": digest})
        for digest in command.parsed.manifests:
            child = self.app.find(manifest_id(command.repository, digest, g), Manifest)
            if child is None or child.deleted:
                raise ManifestBlobUnknown("index references a manifest the repository lacks",
                                          {"digest": digest})

    @retried
    def delete_manifest(self, command: DeleteManifest) -> Outcome:
        g = self.generation(command.repository)
        manifest = self.app.find(manifest_id(command.repository, command.digest, g), Manifest)
        if manifest is None or manifest.deleted:
            raise ManifestUnknown("manifest unknown", {"digest": command.digest})
        self.check_mutable(command.repository, command.tags, "delete the artifact", g)
        manifest.delete(command.actor, command.cause)
        loaded: dict = {}  # one instance per aggregate, however many deletions touch it
        touched: list = [manifest, *self.quotas.release(command.repository, command.digest,
                                                        command.actor, g, loaded)]
        touched += self._remove_tags(command.repository, command.digest, command.tags,
                                     command.actor, command.cause, g)
        cause = {**(command.cause or {}), "with": command.digest}
        for digest, tags in command.dependents.items():
            dependent = self.app.find(manifest_id(command.repository, digest, g), Manifest)
            if dependent is None or dependent.deleted:
                continue  # deleted meanwhile
            self.check_mutable(command.repository, tags, "delete the artifact", g)
            dependent.delete(command.actor, cause)
            touched += [dependent, *self.quotas.release(command.repository, digest, command.actor,
                                                        g, loaded)]
            touched += self._remove_tags(command.repository, digest, tags, command.actor, cause, g)
        return self._save(*touched)

    def _remove_tags(self, repository: str, digest: str, names: list[str], actor: Actor,
                     cause: dict | None, g: int) -> list:
        removed = []
        for name in names:
            tag = self.app.find(tag_id(repository, name, g), Tag)
            if tag is not None and tag.digest == digest:
                tag.remove(actor, cause)
                removed.append(tag)
        return removed

    @retried
    def remove_tag(self, command: RemoveTag) -> Outcome:
        g = self.generation(command.repository)
        tag = self.app.find(tag_id(command.repository, command.tag, g), Tag)
        if tag is None or tag.digest is None:
            raise ManifestUnknown("tag unknown", {"tag": command.tag})
        self.check_mutable(command.repository, [command.tag], "delete the tag", g)
        tag.remove(command.actor, command.cause)
        return self._save(tag)

    @retried
    def add_tag(self, command: AddTag) -> Outcome:
        """Point a tag at a manifest the repository holds now."""
        g = self.generation(command.repository)
        manifest = self.app.find(manifest_id(command.repository, command.digest, g), Manifest)
        if manifest is None or manifest.deleted:
            raise ManifestUnknown("artifact not in the repository (undelete it first)",
                                  {"digest": command.digest})
        tag = self.app.find(tag_id(command.repository, command.tag, g), Tag)
        if tag is None:
            tag = Tag.create(command.repository, command.tag, command.digest, command.actor, generation=g)
        else:
            if tag.digest not in (None, command.digest):
                self.check_mutable(command.repository, [command.tag], "move the tag", g)
            tag.point_at(command.digest, command.actor, restored_from=command.restored_from)
        return self._save(tag)

    @retried
    def delete_repository(self, command: DeleteRepository) -> Outcome:
        """Delete every manifest of a repository and its tags, in one atomic save."""
        g = self.generation(command.repository)
        touched: list = []
        loaded: dict = {}
        self.check_mutable(command.repository, [t for tags in command.manifests.values() for t in tags],
                           "delete the repository", g)
        for digest, tags in command.manifests.items():
            manifest = self.app.find(manifest_id(command.repository, digest, g), Manifest)
            if manifest is None or manifest.deleted:
                continue
            manifest.delete(command.actor)
            touched.append(manifest)
            touched += self.quotas.release(command.repository, digest, command.actor, g, loaded)
            for name in tags:
                tag = self.app.find(tag_id(command.repository, name, g), Tag)
                if tag is not None and tag.digest == digest:
                    tag.remove(command.actor)
                    touched.append(tag)
        return self._save(*touched) if touched else Outcome()

    @retried
    def undelete_manifest(self, command: UndeleteManifest) -> Outcome:
        """Bring a deleted manifest back (its bytes and blobs must still be stored); only a
        manifest of this generation of the project: a deleted project's are not the new one's."""
        g = self.generation(command.repository)
        manifest = self.app.find(manifest_id(command.repository, command.digest, g), Manifest)
        if manifest is None:
            raise ManifestUnknown("artifact never existed here", {"digest": command.digest})
        if not manifest.deleted:
            return Outcome()
        touched: list = [manifest]
        loaded: dict = {}
        for digest in command.parsed.blobs:
            link = self.app.find(blob_link_id(command.repository, digest, g), BlobLink)
            if link is not None and not link.linked:
                link.relink(link.size, None, command.actor)
                touched.append(link)
                touched += self.quotas.charge(command.repository, digest, link.size, command.actor, g, loaded)
            elif link is None:
                raise ManifestBlobUnknown("a blob of this artifact is gone", {"digest": digest})
        for digest in command.parsed.manifests:
            child = self.app.find(manifest_id(command.repository, digest, g), Manifest)
            if child is None or child.deleted:
                raise ManifestBlobUnknown("undelete the index's manifests first", {"digest": digest})
        manifest.push_again(command.size, command.parsed, command.actor, undeleted=True)
        touched += self.quotas.charge(command.repository, command.digest, command.size, command.actor, g, loaded)
        return self._save(*touched)

    def abandon_upload(self, command: AbandonUpload) -> Outcome:
        return self._save(Upload.abandon(command.repository, command.upload_id,
                                         command.received_bytes, command.reason, command.actor))
