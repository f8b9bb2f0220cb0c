"""Cron ticks, shared by the schedulers (retention, garbage collection).

Cron times are UTC; six fields are Harbor's form (seconds first), five the standard one.
"""

from datetime import datetime, timezone

from croniter import CroniterError, croniter

from domain.errors import BadRequest


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def check_cron(cron: str, field: str) -> int:
    """5 (standard cron) or 6 (Harbor's, seconds first); BadRequest naming the field if it is
    not cron, or names no time that comes (`0 0 31 2 *`: every later lookup of the next
    tick would fail, in the schedule's GET and in the scheduler alike)."""
    fields = len(cron.split())
    if fields in (5, 6) and croniter.is_valid(cron, second_at_beginning=fields == 6):
        try:
            next_tick(cron, datetime.now(timezone.utc))
            return fields
        except (CroniterError, ValueError, OverflowError):
            pass
    raise BadRequest(f"{field} is not a cron expression that fires (5 fields, or 6 with seconds "
                     "first as Harbor writes them)", {"field": field})


def _iter(cron: str, start: datetime) -> croniter:
    return croniter(cron, start, second_at_beginning=len(cron.split()) == 6)


def due_tick(cron: str, since: datetime, now: datetime) -> datetime | None:
    """The latest tick of `cron` after `since` and not after `now`, if any (ticks missed
    while nothing ran collapse into one)."""
    following = _iter(cron, since).get_next(datetime)
    if following > now:
        return None
    return max(following, _iter(cron, now).get_prev(datetime))


def next_tick(cron: str, now: datetime) -> datetime:
    return _iter(cron, now).get_next(datetime)
