"""Setting and clearing the garbage collection schedule, and asking a run to stop."""

from uuid import UUID

import msgspec

from commands.retries import retried
from commands.artifacts.messages import Outcome
from domain.base import Actor
from domain.errors import Conflict, NotFound
from domain.gc import GcRun, GcStop, gc_stop_id
from domain.gc_schedule import SCHEDULE_ID, GcSchedule


class SetGcSchedule(msgspec.Struct, frozen=True):
    kind: str  # Hourly, Daily, Weekly, Custom/Schedule, or None to clear
    cron: str
    dry_run: bool
    delete_untagged: bool
    actor: Actor


class StopGc(msgspec.Struct, frozen=True):
    run_id: str
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

    @retried
    def stop_run(self, c: StopGc) -> Outcome:
        """Ask a running collection to stop (it does between batches); asking again, or
        asking a stopped run, records nothing."""
        run = self.app.find(UUID(c.run_id), GcRun)
        if run is None:
            raise NotFound("garbage collection run not found", {"run": c.run_id})
        if run.status == "Stopped" or self.app.find(gc_stop_id(c.run_id), GcStop) is not None:
            return Outcome()
        if run.status != "Running":
            raise Conflict(f"the garbage collection already ended ({run.status})",
                           {"status": run.status})
        recordings = self.app.save(GcStop.request(c.run_id, c.actor))
        return Outcome(position=recordings[-1].notification.id if recordings else None)
