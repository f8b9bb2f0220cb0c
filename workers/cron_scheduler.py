"""Starts scheduled runs when their cron tick comes (garbage collection, audit log rotation).

Every `interval` seconds the scheduler reads its schedule and the tick of the latest
scheduled run; if a tick is due since then (and since the schedule was last changed) it
starts a run for it, in this thread. Ticks missed while nothing ran collapse into one. A
run's id comes from its tick, so when two worker processes reach the same tick only the
first starts it; a tick that meets a run already going in this process is tried again on
the next round.
"""

from datetime import datetime, timezone
from typing import Any, Callable

import structlog
from eventsourcing.persistence import IntegrityError

from domain.cron import due_tick, instant
from domain.errors import Conflict
from workers.ticker import Ticker

log = structlog.get_logger("scheduler")


class CronScheduler(Ticker):
    """Subclasses say what the schedule is, when its last run was, and how to start one."""

    name = "cron-scheduler"
    what = "scheduled run"

    def __init__(self, registry, interval: float = 30.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        super().__init__(interval)
        self.registry = registry
        self.clock = clock

    def schedule(self) -> tuple[str, str, Any] | None:
        """(cron, updated_at, what a run needs) while a schedule is set."""
        raise NotImplementedError

    def last_scheduled(self) -> str | None:
        raise NotImplementedError

    def start_run(self, tick: str, parameters: Any) -> str:
        raise NotImplementedError

    def due_run(self, now: datetime) -> tuple[datetime, Any] | None:
        """The due tick and what its run needs, if one is due."""
        schedule = self.schedule()
        if schedule is None:
            return None
        cron, updated, parameters = schedule
        since = instant(updated)
        last = self.last_scheduled()
        if last:
            since = max(since, instant(last))
        tick = due_tick(cron, since, now)
        return (tick, parameters) if tick is not None else None

    def tick(self, now: datetime | None = None) -> str | None:
        """Start the due run, if any; return its run id."""
        due = self.due_run(now or self.clock())
        if due is None:
            return None
        tick, parameters = due
        try:
            return self.start_run(tick.isoformat(), parameters)
        except IntegrityError:
            log.info(f"{self.what} already started elsewhere", tick=tick.isoformat())
        except Conflict:
            log.info(f"{self.what} waits for the running one", tick=tick.isoformat())
        return None
