"""Cron ticks, shared by the schedulers (retention, garbage collection).

Cron times are UTC; six fields are Harbor's form (seconds first), five the standard one.
"""

from datetime import datetime, timezone

from croniter import croniter


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


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
