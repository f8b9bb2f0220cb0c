"""A manifest held by one repository, identified by its digest."""

from domain.base import Actor, RegistryAggregate
from domain.artifacts.manifest_format import ParsedManifest
from domain.names import project_stream_id


def manifest_id(repository: str, digest: str, generation: int):
    return project_stream_id("manifest", generation, repository, digest)


class Manifest(RegistryAggregate):
    class Pushed(RegistryAggregate.Created):
        """A manifest was stored in a repository, all it references being present."""

        repository: str
        digest: str
        media_type: str
        size: int
        artifact_type: str | None
        subject: str | None
        blobs: list[str]
        manifests: list[str]
        annotations: dict[str, str]

    class Repushed(RegistryAggregate.Event):
        """A manifest deleted earlier was pushed to the repository again, or (`undeleted`)
        brought back by an undelete: the public feed tells the two apart."""

        class_version = 2

        repository: str
        digest: str
        media_type: str
        size: int
        artifact_type: str | None
        subject: str | None
        blobs: list[str]
        manifests: list[str]
        annotations: dict[str, str]
        undeleted: bool

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["undeleted"] = False

        def apply(self, manifest: "Manifest") -> None:
            manifest.deleted = False

    class Deleted(RegistryAggregate.Event):
        """A manifest was deleted from a repository (its tags were removed with it).

        `cause` says why when a policy decided it (retention run, policy version, rule).
        """

        class_version = 2

        repository: str
        digest: str
        media_type: str
        subject: str | None
        cause: dict | None

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["cause"] = None

        def apply(self, manifest: "Manifest") -> None:
            manifest.deleted = True

    def __init__(self, repository: str, digest: str, media_type: str, size: int,
                 artifact_type: str | None, subject: str | None, blobs: list[str],
                 manifests: list[str], annotations: dict[str, str]) -> None:
        self.repository = repository
        self.digest = digest
        self.media_type = media_type
        self.subject = subject
        self.deleted = False

    @classmethod
    def push(cls, repository: str, digest: str, size: int, parsed: ParsedManifest,
             actor: Actor, *, generation: int) -> "Manifest":
        return cls._create(
            cls.Pushed, id=manifest_id(repository, digest, generation), repository=repository,
            digest=digest, media_type=parsed.media_type, size=size,
            artifact_type=parsed.artifact_type, subject=parsed.subject,
            blobs=parsed.blobs, manifests=parsed.manifests,
            annotations=parsed.annotations, **actor.fields(),
        )

    def push_again(self, size: int, parsed: ParsedManifest, actor: Actor,
                   undeleted: bool = False) -> None:
        """Bring a deleted manifest back: by a push, or by an undelete (`undeleted`)."""
        if self.deleted:
            self.trigger_event(
                self.Repushed, repository=self.repository, digest=self.digest,
                media_type=parsed.media_type, size=size, artifact_type=parsed.artifact_type,
                subject=parsed.subject, blobs=parsed.blobs, manifests=parsed.manifests,
                annotations=parsed.annotations, undeleted=undeleted, **actor.fields(),
            )

    def delete(self, actor: Actor, cause: dict | None = None) -> None:
        if not self.deleted:
            self.trigger_event(self.Deleted, repository=self.repository, digest=self.digest,
                               media_type=self.media_type, subject=self.subject, cause=cause,
                               **actor.fields())
