"""The schedules `/schedules` lists: each source gives its schedules in Harbor's ScheduleTask
shape, with what Tidemark knows besides: the next tick, the last run the schedule started
(its log position) and how long a due tick has waited (`lag_seconds`, 0 when none is due).

A source is a function of the registry and the moment; `JobService.schedule_sources` lists them
(infra/wiring/job_service.py): another kind of schedule is one more function in that list.
"""

import zlib
from datetime import datetime
from typing import Any

from domain.cron import due_tick, instant, next_tick

# Harbor's vendor types for the schedules Tidemark has
GARBAGE_COLLECTION, RETENTION, PURGE_AUDIT = "GARBAGE_COLLECTION", "RETENTION", "PURGE_AUDIT_LOG"


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def schedule_task(vendor_type: str, vendor_id: int, cron: str, updated: str, last: str | None,
                  last_position: int | None, now: datetime, running: bool, paused: bool = False) -> dict:
    """One schedule: a stable id (from its vendor type and id), Harbor's fields, and its state:
    `running` (a run it started is going), `paused` (scheduled runs are paused), `due` (a tick
    has come and no run started yet) or `waiting`."""
    since = max(instant(updated), instant(last)) if last else instant(updated)
    due = due_tick(cron, since, now)
    state = "running" if running else "paused" if paused else "due" if due is not None else "waiting"
    return {"id": zlib.crc32(f"{vendor_type}:{vendor_id}".encode()) & 0x7FFFFFFF,
            "vendor_type": vendor_type, "vendor_id": vendor_id, "cron": cron, "update_time": updated,
            "state": state, "next_time": _stamp(next_tick(cron, now)), "last_time": last,
            "position": last_position,
            "lag_seconds": int((now - due).total_seconds()) if due is not None and not running else 0}


def gc_schedules(registry: Any, now: datetime) -> list[dict]:
    """The garbage collection schedule, if one is set (vendor_id -1: there is only one)."""
    schedule = registry.gc.schedule()
    if schedule is None:
        return []
    kind, cron, dry_run, untagged, created, updated = schedule
    scheduled = [row for row in registry.gc.runs(0, 100)[0] if row[12]]  # runs a tick started
    last = max(scheduled, key=lambda row: row[0], default=None)
    return [schedule_task(GARBAGE_COLLECTION, -1, cron, updated, registry.gc.last_scheduled(),
                          last[0] if last else None, now, bool(last) and last[4] == "Running",
                          registry.schedule_pause.paused())]


def retention_schedules(registry: Any, now: datetime) -> list[dict]:
    """Every retention policy with a cron schedule (vendor_id: the policy id)."""
    found = []
    paused = registry.schedule_pause.paused()
    for policy in registry.retention.scheduled():
        runs, _ = registry.retention.runs(policy.id, 0, 20)
        started = [run for run in runs if run.trigger == "SCHEDULE"]
        last = max(started, key=lambda run: run.id, default=None)
        found.append(schedule_task(RETENTION, policy.id, policy.policy["cron"], policy.updated_at,
                                   policy.last_scheduled, last.id if last else None, now,
                                   bool(last) and last.status == "Running", paused))
    return found



def purge_audit_schedules(registry: Any, now: datetime) -> list[dict]:
    """The audit log purge schedule, if one is set (vendor_id -1: there is only one)."""
    schedule = registry.audit_purges.schedule()
    if schedule is None:
        return []
    kind, cron, parameters, created, updated = schedule
    scheduled = [row for row in registry.audit_purges.runs(0, 100)[0] if row[2] == "SCHEDULE"]
    last = max(scheduled, key=lambda row: row[0], default=None)
    return [schedule_task(PURGE_AUDIT, -1, cron, updated, registry.audit_purges.last_scheduled(),
                          last[0] if last else None, now, bool(last) and last[5] == "Running",
                          registry.schedule_pause.paused())]
