"""Setting and clearing the garbage collection schedule."""

import msgspec

from commands.handlers import retried
from commands.messages import Outcome
from domain.base import Actor
from domain.gc_schedule import SCHEDULE_ID, GcSchedule


class SetGcSchedule(msgspec.Struct, frozen=True):
    kind: str  # Hourly, Daily, Weekly, Custom/Schedule, or None to clear
    cron: str
    dry_run: bool
    delete_untagged: bool
    actor: Actor


class GcScheduleCommands:
    def __init__(self, app) -> None:
        self.app = app

    @retried
    def set_schedule(self, c: SetGcSchedule) -> Outcome:
        """Record the schedule; nothing when it is already so (or already cleared)."""
        schedule = self.app.find(SCHEDULE_ID, GcSchedule)
        if c.kind == "None":
            if schedule is None or not schedule.clear(c.actor):
                return Outcome()
        elif schedule is None:
            schedule = GcSchedule.set(c.kind, c.cron, c.dry_run, c.delete_untagged, c.actor)
        elif not schedule.change(c.kind, c.cron, c.dry_run, c.delete_untagged, c.actor):
            return Outcome()
        recordings = self.app.save(schedule)
        return Outcome(position=recordings[-1].notification.id if recordings else None)
