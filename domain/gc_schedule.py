"""The garbage collection schedule (Harbor's `/system/gc/schedule`): one stream for the system.

Harbor's schedule types are kept as they were given: `Hourly`, `Daily` and
`Weekly` stand for fixed cron expressions, `Custom` (or `Schedule`) carries its
own. Cron times are UTC; six fields are Harbor's form (seconds first), five the
standard one. Every change is an event, so "when was GC scheduled, by whom" is
in the audit trail like anything else.
"""

from domain.base import Actor, RegistryAggregate
from domain.cron import check_cron
from domain.errors import BadRequest
from domain.names import stream_id

SCHEDULE_ID = stream_id("gc-schedule", "system")
PRESETS = {"Hourly": "0 0 * * * *", "Daily": "0 0 0 * * *", "Weekly": "0 0 0 * * 0"}
CUSTOM = ("Custom", "Schedule")


def schedule_cron(kind: str, cron: str) -> str:
    """The cron expression a schedule type stands for; BadRequest naming the field if none."""
    if kind in PRESETS:
        return PRESETS[kind]
    if kind not in CUSTOM:
        raise BadRequest("schedule.type must be one of Hourly, Daily, Weekly, Custom, Manual or None",
                         {"field": "schedule.type"})
    cron = (cron or "").strip()
    check_cron(cron, "schedule.cron")
    return cron


class GcSchedule(RegistryAggregate):
    class Set(RegistryAggregate.Created):
        """GC runs on a schedule (the first time one is set)."""

        kind: str
        cron: str
        dry_run: bool
        delete_untagged: bool

    class Changed(RegistryAggregate.Event):
        """The schedule or its parameters changed."""

        kind: str
        cron: str
        dry_run: bool
        delete_untagged: bool

        def apply(self, schedule: "GcSchedule") -> None:
            schedule.kind, schedule.cron = self.kind, self.cron
            schedule.dry_run, schedule.delete_untagged = self.dry_run, self.delete_untagged
            schedule.active = True

    class Cleared(RegistryAggregate.Event):
        """Scheduled runs stop (Harbor's type `None`)."""

        def apply(self, schedule: "GcSchedule") -> None:
            schedule.active = False

    def __init__(self, kind: str, cron: str, dry_run: bool, delete_untagged: bool) -> None:
        self.kind = kind
        self.cron = cron
        self.dry_run = dry_run
        self.delete_untagged = delete_untagged
        self.active = True

    @classmethod
    def set(cls, kind: str, cron: str, dry_run: bool, delete_untagged: bool,
            actor: Actor) -> "GcSchedule":
        return cls._create(cls.Set, id=SCHEDULE_ID, kind=kind, cron=schedule_cron(kind, cron),
                           dry_run=dry_run, delete_untagged=delete_untagged, **actor.fields())

    def change(self, kind: str, cron: str, dry_run: bool, delete_untagged: bool,
               actor: Actor) -> bool:
        """Record a change; False (nothing recorded) when it changes nothing."""
        cron = schedule_cron(kind, cron)
        if self.active and (self.kind, self.cron, self.dry_run, self.delete_untagged) == (
                kind, cron, dry_run, delete_untagged):
            return False
        self.trigger_event(self.Changed, kind=kind, cron=cron, dry_run=dry_run,
                           delete_untagged=delete_untagged, **actor.fields())
        return True

    def clear(self, actor: Actor) -> bool:
        if not self.active:
            return False
        self.trigger_event(self.Cleared, **actor.fields())
        return True
