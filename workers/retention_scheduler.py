"""Starts scheduled retention runs when their cron tick comes.

Every `interval` seconds the scheduler looks at policies with a cron schedule
and, for each, at the latest tick due since the policy was last edited or last
scheduled; ticks missed while nothing ran are run once, not once each. A
scheduled run's id is derived from the policy and the tick, so two processes
following the same log start it once; the runner keeps it to one run per policy
at a time (a tick that meets a run in progress is tried again later).
Cron times are UTC; six fields are Harbor's form (seconds first).
"""

from datetime import datetime, timezone
from typing import Callable

import structlog

from domain.base import Actor
from domain.errors import Conflict, NotFound
from domain.retention.run import scheduled_run_id
from domain.cron import due_tick, instant
from projections.retention_view import PolicyRow
from workers.ticker import Ticker

log = structlog.get_logger("retention_scheduler")
SCHEDULER = Actor(name="retention-scheduler")


class RetentionScheduler(Ticker):
    name = "retention-scheduler"

    def __init__(self, registry, interval: float = 30.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        super().__init__(interval)
        self.registry = registry
        self.clock = clock

    def due(self, now: datetime) -> list[tuple[PolicyRow, datetime]]:
        """Policies whose schedule has a tick due, with that tick (none while paused)."""
        found = []
        if self.registry.schedule_pause.paused():
            return found
        for policy in self.registry.retention.scheduled():
            since = instant(policy.updated_at)
            if policy.last_scheduled:
                since = max(since, instant(policy.last_scheduled))
            tick = due_tick(policy.policy["cron"], since, now)
            if tick is not None:
                found.append((policy, tick))
        return found

    def tick(self, now: datetime | None = None, background: bool = True) -> list[int]:
        """Start every due run; return the execution ids started."""
        started = []
        for policy, tick in self.due(now or self.clock()):
            scheduled_for = tick.isoformat()
            try:
                started.append(self.registry.retention_runner.start(
                    policy, False, "SCHEDULE", SCHEDULER, scheduled_for=scheduled_for,
                    run_id=scheduled_run_id(policy.id, scheduled_for), background=background))
            except (Conflict, NotFound) as skipped:
                log.info("scheduled retention run not started", policy=policy.id, reason=skipped.message)
        return started
