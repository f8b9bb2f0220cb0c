"""Audit log rotation (Harbor's purge audit): runs that trim the audit query model, and their
schedule.

A run never touches the event log: its `Finished` event names the rows of the audit view it
trims (older than `cutoff`, of the given event types, recorded before log position `until`),
and the audit projection applies that event like any other, so a rebuilt view trims the same
rows at the same point of the log and trimmed rows never come back.
"""

from uuid import uuid4

from domain.base import Actor, RegistryAggregate
from domain.gc_schedule import schedule_cron
from domain.names import stream_id

PURGE_NOTE = ("Audit log rotation trims rows of the audit query model only; it never touches the event "
              "log, which keeps every entry (`tidemark events export` writes it out), and a rebuilt "
              "audit view stays trimmed.")
SCHEDULE_ID = stream_id("audit-purge-schedule", "system")
MAX_RETENTION_HOURS = 100 * 365 * 24


def scheduled_purge_id(tick: str):
    return stream_id("audit-purge-run", tick)


class AuditPurge(RegistryAggregate):
    class Started(RegistryAggregate.Created):
        """A purge began (a dry run only counts)."""

        retention_hours: int
        event_types: list[str]
        dry_run: bool
        trigger: str  # MANUAL or SCHEDULE
        scheduled_for: str | None

    class Finished(RegistryAggregate.Event):
        """The purge trimmed (or, in a dry run, would trim) `rows` audit entries of
        `event_types` older than `cutoff` recorded before position `until`."""

        cutoff: str
        until: int
        rows: int
        event_types: list[str]
        dry_run: bool

        def apply(self, run: "AuditPurge") -> None:
            run.status = "Success"

    class Failed(RegistryAggregate.Event):
        """A purge ended without trimming (an error, or its process died)."""

        reason: str

        def apply(self, run: "AuditPurge") -> None:
            run.status = "Error"

    class Stopped(RegistryAggregate.Event):
        """A purge was stopped on request before it trimmed anything."""

        requested_by: str

        def apply(self, run: "AuditPurge") -> None:
            run.status = "Stopped"

    def __init__(self, retention_hours: int, event_types: list[str], dry_run: bool,
                 trigger: str, scheduled_for: str | None) -> None:
        self.retention_hours = retention_hours
        self.event_types = list(event_types)
        self.dry_run = dry_run
        self.status = "Running"

    @classmethod
    def start(cls, retention_hours: int, event_types: list[str], dry_run: bool, actor: Actor,
              scheduled_for: str | None = None) -> "AuditPurge":
        """A run; a scheduled one's id comes from its cron tick, so of two processes that reach
        the same tick only the first starts it."""
        run_id = uuid4() if scheduled_for is None else scheduled_purge_id(scheduled_for)
        return cls._create(cls.Started, id=run_id, retention_hours=retention_hours,
                           event_types=list(event_types), dry_run=dry_run,
                           trigger="MANUAL" if scheduled_for is None else "SCHEDULE",
                           scheduled_for=scheduled_for, **actor.fields())

    def finish(self, cutoff: str, until: int, rows: int, actor: Actor) -> bool:
        if self.status != "Running":
            return False
        self.trigger_event(self.Finished, cutoff=cutoff, until=until, rows=rows,
                           event_types=list(self.event_types), dry_run=self.dry_run, **actor.fields())
        return True

    def stop(self, requested_by: str, actor: Actor) -> bool:
        """Stop a running purge; False (nothing recorded) once it has ended."""
        if self.status != "Running":
            return False
        self.trigger_event(self.Stopped, requested_by=requested_by, **actor.fields())
        return True

    def fail(self, reason: str, actor: Actor) -> bool:
        if self.status != "Running":
            return False
        self.trigger_event(self.Failed, reason=reason[:500], **actor.fields())
        return True


class AuditPurgeSchedule(RegistryAggregate):
    """When purges run by themselves, with which parameters (one stream for the system).
    Schedule types and cron forms are the garbage collection schedule's."""

    class Set(RegistryAggregate.Created):
        """Purges run on a schedule (the first time one is set)."""

        kind: str
        cron: str
        retention_hours: int
        event_types: list[str]
        dry_run: bool

    class Changed(RegistryAggregate.Event):
        """The schedule or its parameters changed."""

        kind: str
        cron: str
        retention_hours: int
        event_types: list[str]
        dry_run: bool

        def apply(self, schedule: "AuditPurgeSchedule") -> None:
            schedule.settings = (self.kind, self.cron, self.retention_hours,
                                 list(self.event_types), self.dry_run)
            schedule.active = True

    class Cleared(RegistryAggregate.Event):
        """Scheduled purges stop (Harbor's type `None`)."""

        def apply(self, schedule: "AuditPurgeSchedule") -> None:
            schedule.active = False

    def __init__(self, kind: str, cron: str, retention_hours: int, event_types: list[str],
                 dry_run: bool) -> None:
        self.settings = (kind, cron, retention_hours, list(event_types), dry_run)
        self.active = True

    @classmethod
    def set(cls, kind: str, cron: str, retention_hours: int, event_types: list[str],
            dry_run: bool, actor: Actor) -> "AuditPurgeSchedule":
        return cls._create(cls.Set, id=SCHEDULE_ID, kind=kind, cron=schedule_cron(kind, cron),
                           retention_hours=retention_hours, event_types=list(event_types),
                           dry_run=dry_run, **actor.fields())

    def change(self, kind: str, cron: str, retention_hours: int, event_types: list[str],
               dry_run: bool, actor: Actor) -> bool:
        """Record a change; False (nothing recorded) when it changes nothing."""
        settings = (kind, schedule_cron(kind, cron), retention_hours, list(event_types), dry_run)
        if self.active and settings == self.settings:
            return False
        self.trigger_event(self.Changed, kind=kind, cron=settings[1], retention_hours=retention_hours,
                           event_types=list(event_types), dry_run=dry_run, **actor.fields())
        return True

    def clear(self, actor: Actor) -> bool:
        if not self.active:
            return False
        self.trigger_event(self.Cleared, **actor.fields())
        return True
