"""Audit log rotation: a purge run, and the scheduler that starts them.

A run records its start, brings the audit view up to that point of the log, counts the
entries older than the retention that match its event types, and records `Finished` with
those bounds; the audit projection trims exactly those rows when it applies that event.
The event log is never touched: every entry stays in it (`tidemark events export`).
"""

from datetime import datetime, timedelta, timezone
from typing import Callable

import structlog

from commands.audit_purge_handlers import (FinishAuditPurge, PurgeParameters, StartAuditPurge,
                                           StopAuditPurge)
from domain.base import Actor
from projections.audit.purge_view import PurgeQueries
from projections.times import stamp
from workers.cron_scheduler import CronScheduler

log = structlog.get_logger("audit_purge")
PURGER = Actor(name="audit-purge")


class AuditPurger:
    def __init__(self, registry, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.registry = registry
        self.clock = clock

    def _audit_view(self):
        return next(p for p in self.registry.projectors if p.name == "audit")

    def run(self, parameters: PurgeParameters, actor: Actor, scheduled_for: str | None = None) -> str:
        """Purge now; the run's id once its outcome is recorded and shows in the audit view."""
        commands = self.registry.audit_purge_commands
        run_id = commands.start(StartAuditPurge(parameters, actor, scheduled_for))
        try:
            until = self.registry.app.head() + 1  # every entry recorded before the run started
            self._audit_view().catch_up(until - 1)
            cutoff = stamp(self.clock() - timedelta(hours=parameters.retention_hours))
            rows = self.registry.audit.purgeable(until, cutoff, parameters.event_types)
            commands.finish(FinishAuditPurge(run_id, cutoff, until, rows, PURGER))
        except Exception as error:
            log.exception("audit log purge failed", run=run_id)
            commands.fail(StopAuditPurge(run_id, PURGER), f"{type(error).__name__}: {error}")
        self.registry.catch_up_reads()
        self._audit_view().catch_up()
        log.info("audit log purge ran", run=run_id, dry_run=parameters.dry_run)
        return run_id

    def close_interrupted(self) -> None:
        """Runs still 'Running' at start-up died with their process: record that."""
        for run_id in self.registry.audit_purges.unfinished():
            self.registry.audit_purge_commands.fail(
                StopAuditPurge(run_id, PURGER), "interrupted: the process stopped during the run")
            log.warning("marked an interrupted audit log purge as failed", run=run_id)
        self.registry.catch_up_reads()


def schedule_parameters(parameters_text: str) -> PurgeParameters:
    import json

    stored = json.loads(parameters_text)
    types = [t for t in stored["include_event_types"].split(",") if t]
    return PurgeParameters(stored["audit_retention_hour"], types, stored["dry_run"])


class AuditPurgeScheduler(CronScheduler):
    name = "audit-purge-scheduler"
    what = "scheduled audit log purge"

    @property
    def _queries(self) -> PurgeQueries:
        return self.registry.audit_purges

    def schedule(self):
        row = self._queries.schedule()
        if row is None or self.registry.schedule_pause.paused():
            return None
        kind, cron, parameters, created, updated = row
        return cron, updated, schedule_parameters(parameters)

    def last_scheduled(self) -> str | None:
        return self._queries.last_scheduled()

    def start_run(self, tick: str, parameters: PurgeParameters) -> str:
        return self.registry.audit_purger.run(parameters, PURGER, scheduled_for=tick)
