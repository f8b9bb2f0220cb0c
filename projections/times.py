"""One text form for instants in query models, so they sort as they compare."""

from datetime import datetime, timezone

from domain.errors import BadRequest


def stamp(moment: datetime) -> str:
    """UTC with microseconds and a Z: `2026-11-28T14:00:00.000000Z`."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_instant(text: str, field: str = "at") -> datetime:
    """An RFC 3339 time with an explicit offset, in UTC; BadRequest naming `field` otherwise."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{field} must be an RFC 3339 time (with a time zone) or an event position",
                         {field: text[:64]})
    if moment.tzinfo is None:
        raise BadRequest(f"{field} needs a time zone (for example 2026-03-01T12:00:00Z)",
                         {field: text[:64]})
    try:
        # Here, not at each use: 0001-01-01T00:00:00+14:00 is a valid text whose UTC falls
        # before year 1, which datetime cannot hold (OverflowError in every comparison).
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise BadRequest(f"{field} is outside the years 1 to 9999 in UTC", {field: text[:64]})
