"""A garbage collection run: what it marked, unlinked and swept, as events."""

from uuid import uuid4

from domain.base import Actor, RegistryAggregate


class GcRun(RegistryAggregate):
    class Started(RegistryAggregate.Created):
        """A collection began (a dry run only reports)."""

        dry_run: bool
        delete_untagged: bool
        grace_seconds: int
        history_window_seconds: int

    class Swept(RegistryAggregate.Event):
        """Unreferenced blobs were removed from storage (or would be, in a dry run)."""

        digests: list[str]
        bytes: int

        def apply(self, run: "GcRun") -> None:
            run.swept += len(self.digests)
            run.freed += self.bytes

    class Finished(RegistryAggregate.Event):
        """A collection finished."""

        blobs: int
        bytes: int
        unlinked: int
        untagged_deleted: int

        def apply(self, run: "GcRun") -> None:
            run.status = "Success"

    class Failed(RegistryAggregate.Event):
        """A collection stopped before finishing (an error, or the process died)."""

        reason: str

        def apply(self, run: "GcRun") -> None:
            run.status = "Error"

    def __init__(self, dry_run: bool, delete_untagged: bool, grace_seconds: int,
                 history_window_seconds: int) -> None:
        self.dry_run = dry_run
        self.status = "Running"
        self.swept = 0
        self.freed = 0

    @classmethod
    def start(cls, dry_run: bool, delete_untagged: bool, grace_seconds: int,
              history_window_seconds: int, actor: Actor) -> "GcRun":
        return cls._create(cls.Started, id=uuid4(), dry_run=dry_run, delete_untagged=delete_untagged,
                           grace_seconds=grace_seconds, history_window_seconds=history_window_seconds,
                           **actor.fields())

    def swept_batch(self, digests: list[str], size: int, actor: Actor) -> None:
        self.trigger_event(self.Swept, digests=digests, bytes=size, **actor.fields())

    def finish(self, unlinked: int, untagged_deleted: int, actor: Actor) -> None:
        self.trigger_event(self.Finished, blobs=self.swept, bytes=self.freed, unlinked=unlinked,
                           untagged_deleted=untagged_deleted, **actor.fields())

    def fail(self, reason: str, actor: Actor) -> None:
        if self.status == "Running":
            self.trigger_event(self.Failed, reason=reason[:500], **actor.fields())
