"""Audit log rotation: starting, finishing and stopping purge runs, and their schedule."""

from uuid import UUID

import msgspec

from commands.artifacts.messages import Outcome
from commands.retries import retried
from domain.audit_purge import SCHEDULE_ID, AuditPurge, AuditPurgeSchedule
from domain.base import Actor
from domain.errors import NotFound


class PurgeParameters(msgspec.Struct, frozen=True):
    retention_hours: int
    event_types: list[str]
    dry_run: bool


class StartAuditPurge(msgspec.Struct, frozen=True):
    parameters: PurgeParameters
    actor: Actor
    scheduled_for: str | None = None  # the cron tick a scheduled run stands for


class FinishAuditPurge(msgspec.Struct, frozen=True):
    run_id: str
    cutoff: str
    until: int
    rows: int
    actor: Actor


class StopAuditPurge(msgspec.Struct, frozen=True):
    run_id: str
    actor: Actor


class SetAuditPurgeSchedule(msgspec.Struct, frozen=True):
    kind: str  # Hourly, Daily, Weekly, Custom/Schedule, or None to clear
    cron: str
    parameters: PurgeParameters
    actor: Actor


def _outcome(recordings) -> Outcome:
    return Outcome(position=recordings[-1].notification.id if recordings else None)


class AuditPurgeCommands:
    def __init__(self, app) -> None:
        self.app = app

    def start(self, c: StartAuditPurge) -> str:
        """Record a run's start; its id. A scheduled tick already started elsewhere raises the
        store's IntegrityError (the scheduler takes it as 'someone else runs it')."""
        p = c.parameters
        run = AuditPurge.start(p.retention_hours, p.event_types, p.dry_run, c.actor, c.scheduled_for)
        self.app.save(run)
        return str(run.id)

    def _run(self, run_id: str) -> AuditPurge:
        run = self.app.find(UUID(run_id), AuditPurge)
        if run is None:
            raise NotFound("purge run not found", {"purge_id": run_id})
        return run

    @retried
    def finish(self, c: FinishAuditPurge) -> Outcome:
        """Record what the run trims; nothing if it was stopped meanwhile."""
        run = self._run(c.run_id)
        if not run.finish(c.cutoff, c.until, c.rows, c.actor):
            return Outcome()
        return _outcome(self.app.save(run))

    @retried
    def fail(self, c: StopAuditPurge, reason: str) -> Outcome:
        run = self._run(c.run_id)
        if not run.fail(reason, c.actor):
            return Outcome()
        return _outcome(self.app.save(run))

    @retried
    def stop(self, c: StopAuditPurge) -> Outcome:
        """Stop a running purge; a run that already ended is left as it is (Harbor answers
        such a stop with 200 too)."""
        run = self._run(c.run_id)
        if not run.stop(c.actor.name, c.actor):
            return Outcome()
        return _outcome(self.app.save(run))

    @retried
    def set_schedule(self, c: SetAuditPurgeSchedule) -> Outcome:
        """Record the schedule; nothing when it is already so (or already cleared)."""
        schedule = self.app.find(SCHEDULE_ID, AuditPurgeSchedule)
        p = c.parameters
        if c.kind == "None":
            if schedule is None or not schedule.clear(c.actor):
                return Outcome()
        elif schedule is None:
            schedule = AuditPurgeSchedule.set(c.kind, c.cron, p.retention_hours, p.event_types,
                                              p.dry_run, c.actor)
        elif not schedule.change(c.kind, c.cron, p.retention_hours, p.event_types, p.dry_run,
                                 c.actor):
            return Outcome()
        return _outcome(self.app.save(schedule))
