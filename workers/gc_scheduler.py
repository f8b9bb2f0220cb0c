"""Starts scheduled garbage collection runs when their cron tick comes.

Every `interval` seconds the scheduler reads the schedule (the `gc` view) and
the tick of the latest scheduled run; if a tick is due since then (and since
the schedule was last changed) it runs a collection for it, in this thread.
Ticks missed while nothing ran collapse into one. The run's id comes from its
tick, so when two worker processes reach the same tick only the first starts
it; a tick that meets a run already going in this process is tried again on the
next round.
"""

from datetime import datetime, timezone
from typing import Callable

import structlog
from eventsourcing.persistence import IntegrityError

from domain.errors import Conflict
from domain.cron import due_tick, instant
from workers.ticker import Ticker

log = structlog.get_logger("gc_scheduler")


class GcScheduler(Ticker):
    name = "gc-scheduler"

    def __init__(self, registry, interval: float = 30.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        super().__init__(interval)
        self.registry = registry
        self.clock = clock

    def due(self, now: datetime) -> tuple[datetime, bool, bool] | None:
        """The due tick with the schedule's dry_run and delete_untagged, if one is due."""
        schedule = self.registry.gc.schedule()
        if schedule is None or self.registry.schedule_pause.paused():
            return None
        kind, cron, dry_run, untagged, created, updated = schedule
        since = instant(updated)
        last = self.registry.gc.last_scheduled()
        if last:
            since = max(since, instant(last))
        tick = due_tick(cron, since, now)
        return (tick, bool(dry_run), bool(untagged)) if tick is not None else None

    def tick(self, now: datetime | None = None) -> str | None:
        """Run the due collection, if any; return its run id."""
        due = self.due(now or self.clock())
        if due is None:
            return None
        tick, dry_run, untagged = due
        try:
            return self.registry.collector.run(dry_run, untagged, scheduled_for=tick.isoformat())
        except IntegrityError:
            log.info("scheduled garbage collection already started elsewhere", tick=tick.isoformat())
        except Conflict:
            log.info("scheduled garbage collection waits for the running one", tick=tick.isoformat())
        return None
