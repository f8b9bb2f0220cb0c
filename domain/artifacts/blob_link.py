"""A blob linked to a repository: the repository may serve and reference it."""

from domain.base import Actor, RegistryAggregate
from domain.names import project_stream_id


def blob_link_id(repository: str, digest: str, generation: int):
    return project_stream_id("blob-link", generation, repository, digest)


class BlobLink(RegistryAggregate):
    class Linked(RegistryAggregate.Created):
        """A blob's bytes were verified and linked to a repository (uploaded or mounted)."""

        repository: str
        digest: str
        size: int
        mounted_from: str | None

    class Relinked(RegistryAggregate.Event):
        """A blob unlinked earlier was linked to the repository again."""

        repository: str
        digest: str
        size: int
        mounted_from: str | None

        def apply(self, link: "BlobLink") -> None:
            link.linked = True

    class Unlinked(RegistryAggregate.Event):
        """A blob was unlinked from a repository; its bytes stay until garbage collection."""

        repository: str
        digest: str

        def apply(self, link: "BlobLink") -> None:
            link.linked = False

    def __init__(self, repository: str, digest: str, size: int, mounted_from: str | None) -> None:
        self.repository = repository
        self.digest = digest
        self.size = size
        self.linked = True

    @classmethod
    def create(cls, repository: str, digest: str, size: int, mounted_from: str | None,
               actor: Actor, *, generation: int) -> "BlobLink":
        return cls._create(
            cls.Linked, id=blob_link_id(repository, digest, generation), repository=repository,
            digest=digest, size=size, mounted_from=mounted_from, **actor.fields(),
        )

    def relink(self, size: int, mounted_from: str | None, actor: Actor) -> None:
        if not self.linked:
            self.trigger_event(
                self.Relinked, repository=self.repository, digest=self.digest,
                size=size, mounted_from=mounted_from, **actor.fields(),
            )

    def unlink(self, actor: Actor) -> None:
        if self.linked:
            self.trigger_event(
                self.Unlinked, repository=self.repository, digest=self.digest, **actor.fields()
            )
