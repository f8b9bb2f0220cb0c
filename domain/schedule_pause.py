"""Whether scheduled runs start: Harbor's pause of the scheduler queue (`PUT
/jobservice/queues/SCHEDULER`). One stream for the system; while paused, no schedule (GC,
retention, ...) starts a run; on resume, ticks missed meanwhile collapse into one run each, as
after any time nothing ran."""

from domain.base import Actor, RegistryAggregate
from domain.names import stream_id

PAUSE_ID = stream_id("schedule-pause", "system")


class SchedulePause(RegistryAggregate):
    class Paused(RegistryAggregate.Created):
        """Scheduled runs stopped starting (the first pause)."""

    class PausedAgain(RegistryAggregate.Event):
        """Scheduled runs stopped starting again."""

        def apply(self, pause: "SchedulePause") -> None:
            pause.paused = True

    class Resumed(RegistryAggregate.Event):
        """Scheduled runs start again when their ticks come."""

        def apply(self, pause: "SchedulePause") -> None:
            pause.paused = False

    def __init__(self) -> None:
        self.paused = True

    @classmethod
    def pause_first(cls, actor: Actor) -> "SchedulePause":
        return cls._create(cls.Paused, id=PAUSE_ID, **actor.fields())

    def set_paused(self, paused: bool, actor: Actor) -> bool:
        """Record a pause or a resume; False (nothing recorded) when it is already so."""
        if paused == self.paused:
            return False
        self.trigger_event(self.PausedAgain if paused else self.Resumed, **actor.fields())
        return True
