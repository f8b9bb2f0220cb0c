"""Starts scheduled garbage collection runs when their cron tick comes (see
workers/cron_scheduler.py); the collection runs in the scheduler's thread."""

from datetime import datetime

from workers.cron_scheduler import CronScheduler


class GcScheduler(CronScheduler):
    name = "gc-scheduler"
    what = "scheduled garbage collection"

    def schedule(self):
        schedule = self.registry.gc.schedule()
        if schedule is None or self.registry.schedule_pause.paused():
            return None
        kind, cron, dry_run, untagged, created, updated = schedule
        return cron, updated, (bool(dry_run), bool(untagged))

    def last_scheduled(self) -> str | None:
        return self.registry.gc.last_scheduled()

    def due(self, now: datetime) -> tuple[datetime, bool, bool] | None:
        """The due tick with the schedule's dry_run and delete_untagged, if one is due."""
        due = self.due_run(now)
        return (due[0], *due[1]) if due is not None else None

    def start_run(self, tick: str, parameters) -> str:
        dry_run, untagged = parameters
        return self.registry.collector.run(dry_run, untagged, scheduled_for=tick)
