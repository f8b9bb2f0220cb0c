"""A tag: a movable name for one manifest in one repository."""

from domain.base import Actor, RegistryAggregate
from domain.names import project_stream_id


def tag_id(repository: str, tag: str, generation: int):
    return project_stream_id("tag", generation, repository, tag)


class Tag(RegistryAggregate):
    class Created(RegistryAggregate.Created):
        """A tag was first set, naming a manifest. `pushed`: by a push of a manifest the
        repository already held (the push recorded nothing else; webhooks send it as a push)."""

        class_version = 2

        repository: str
        tag: str
        digest: str
        pushed: bool

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["pushed"] = False

    class Moved(RegistryAggregate.Event):
        """A tag now names another manifest (or names one again after removal); `pushed` as
        for `Created`; `restored_from`: the log position a tag restore took the digest from
        (None for a push or a move)."""

        class_version = 3

        repository: str
        tag: str
        digest: str
        previous_digest: str | None
        pushed: bool
        restored_from: int | None

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["pushed"] = False

        @staticmethod
        def upcast_v2_v3(state: dict) -> None:
            state["restored_from"] = None

        def apply(self, tag: "Tag") -> None:
            tag.digest = self.digest

    class Removed(RegistryAggregate.Event):
        """A tag was removed; the manifest it named stays. `cause` says why when a policy decided."""

        class_version = 2

        repository: str
        tag: str
        previous_digest: str
        cause: dict | None

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["cause"] = None

        def apply(self, tag: "Tag") -> None:
            tag.digest = None

    def __init__(self, repository: str, tag: str, digest: str) -> None:
        self.repository = repository
        self.tag = tag
        self.digest: str | None = digest

    @classmethod
    def create(cls, repository: str, tag: str, digest: str, actor: Actor,
               pushed: bool = False, *, generation: int) -> "Tag":
        return cls._create(
            cls.Created, id=tag_id(repository, tag, generation),
            repository=repository, tag=tag, digest=digest, pushed=pushed, **actor.fields(),
        )

    def point_at(self, digest: str, actor: Actor, pushed: bool = False,
                 restored_from: int | None = None) -> None:
        """Point the tag at a manifest (the one it named at `restored_from`, for a restore);
        pointing where it already points records nothing."""
        if digest != self.digest:
            self.trigger_event(
                self.Moved, repository=self.repository, tag=self.tag, digest=digest,
                previous_digest=self.digest, pushed=pushed, restored_from=restored_from,
                **actor.fields(),
            )

    def remove(self, actor: Actor, cause: dict | None = None) -> None:
        if self.digest is not None:
            self.trigger_event(
                self.Removed, repository=self.repository, tag=self.tag,
                previous_digest=self.digest, cause=cause, **actor.fields(),
            )
