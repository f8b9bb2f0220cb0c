"""A garbage collection run: what it marked, unlinked and swept, as events."""

from uuid import UUID, uuid4

from domain.base import Actor, RegistryAggregate
from domain.names import stream_id


def scheduled_gc_run_id(tick: str):
    return stream_id("gc-run", tick)


def gc_stop_id(run_id) -> UUID:
    """The stream of a request to stop a run: apart from the run's own, so asking never
    conflicts with the run recording its progress (possibly in another process)."""
    return stream_id("gc-stop", str(run_id))


class GcRun(RegistryAggregate):
    class Started(RegistryAggregate.Created):
        """A collection began (a dry run only reports)."""

        dry_run: bool
        delete_untagged: bool
        grace_seconds: int
        history_window_seconds: int
        trigger: str  # MANUAL (the API or the CLI) or SCHEDULE
        scheduled_for: str | None  # the cron tick a scheduled run stands for

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["trigger"], state["scheduled_for"] = "MANUAL", None

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

    class Stopped(RegistryAggregate.Event):
        """A collection stopped on request before finishing; what it removed stays removed."""

        requested_by: str

        def apply(self, run: "GcRun") -> None:
            run.status = "Stopped"

    def __init__(self, dry_run: bool, delete_untagged: bool, grace_seconds: int,
                 history_window_seconds: int, trigger: str, scheduled_for: str | None) -> None:
        self.dry_run = dry_run
        self.status = "Running"
        self.swept = 0
        self.freed = 0

    @classmethod
    def start(cls, dry_run: bool, delete_untagged: bool, grace_seconds: int,
              history_window_seconds: int, actor: Actor, scheduled_for: str | None = None) -> "GcRun":
        """A run; a scheduled one's id comes from its cron tick, so of two processes that
        reach the same tick only the first starts it."""
        run_id = uuid4() if scheduled_for is None else scheduled_gc_run_id(scheduled_for)
        return cls._create(cls.Started, id=run_id, dry_run=dry_run, delete_untagged=delete_untagged,
                           grace_seconds=grace_seconds, history_window_seconds=history_window_seconds,
                           trigger="MANUAL" if scheduled_for is None else "SCHEDULE",
                           scheduled_for=scheduled_for, **actor.fields())

    def swept_batch(self, digests: list[str], size: int, actor: Actor) -> None:
        self.trigger_event(self.Swept, digests=digests, bytes=size, **actor.fields())

    def finish(self, unlinked: int, untagged_deleted: int, actor: Actor) -> None:
        self.trigger_event(self.Finished, blobs=self.swept, bytes=self.freed, unlinked=unlinked,
                           untagged_deleted=untagged_deleted, **actor.fields())

    def stop(self, requested_by: str, actor: Actor) -> None:
        if self.status == "Running":
            self.trigger_event(self.Stopped, requested_by=requested_by, **actor.fields())

    def fail(self, reason: str, actor: Actor) -> None:
        if self.status == "Running":
            self.trigger_event(self.Failed, reason=reason[:500], **actor.fields())


class GcStop(RegistryAggregate):
    """A request to stop a running collection, which the run honours between batches."""

    class Requested(RegistryAggregate.Created):
        run_id: str

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    @classmethod
    def request(cls, run_id: str, actor: Actor) -> "GcStop":
        return cls._create(cls.Requested, id=gc_stop_id(run_id), run_id=run_id, **actor.fields())
