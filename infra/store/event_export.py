"""The raw event log as JSON lines.

Secrets appear as the events hold them, sealed (useless without the key file,
which is never exported). Older versions stored webhook auth headers in clear:
those are replaced by `******`, so an exported log holds no usable secret; the
registry sealed them as new events on its first start after the upgrade.
"""

from typing import Iterator

import msgspec

from domain.errors import BadRequest
from infra.store.event_codec import decode_state
from projections.times import parse_instant, stamp
from infra.auth.secrets import redact_clear

_encoder = msgspec.json.Encoder()


class BadBound(ValueError):
    """--from/--to is neither an event position nor an RFC 3339 time."""


def resolve_bound(db, text: str | None, edge: str) -> int | None:
    """The log position `--from`/`--to` names: a position as is; a time maps, through the
    times the OCI view keeps for every event (as `at=` does), to the first event at or after
    it (`from`) or the last event at or before it (`to`)."""
    if text is None:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    try:
        moment = stamp(parse_instant(text))
    except (BadRequest, ValueError, OverflowError):
        raise BadBound(f"--{edge} must be an event position or an RFC 3339 time with a time zone "
                       f"(for example 2026-03-01T12:00:00Z), not {text[:64]!r}") from None
    if edge == "from":
        row = db.read("SELECT MIN(position) FROM oci_event_times WHERE at >= ?", (moment,))
        return row[0][0] if row[0][0] is not None else _beyond_head(db)
    row = db.read("SELECT MAX(position) FROM oci_event_times WHERE at <= ?", (moment,))
    return row[0][0] if row[0][0] is not None else 0


def _beyond_head(db) -> int:
    return (db.read("SELECT MAX(position) FROM oci_event_times")[0][0] or 0) + 1


def export_events(app, start: int | None, stop: int | None, page: int = 1000) -> Iterator[bytes]:
    """Each event with its position, stream, version, type and fields, in log order
    (positions `start` to `stop`, both included)."""
    position = max(start or 1, 1)
    if stop is not None and stop < position:
        return
    while True:
        notifications = app.recorder.select_notifications(start=position, limit=page, stop=stop)
        for n in notifications:
            yield _encoder.encode({
                "position": n.id, "stream": str(n.originator_id), "version": n.originator_version,
                "type": n.topic, "data": redact_clear(decode_state(n.state)),
            })
        if len(notifications) < page:
            return
        position = notifications[-1].id + 1
