"""The raw event log as JSON lines."""

from typing import Iterator

import msgspec

from infra.event_codec import decode_state

_encoder = msgspec.json.Encoder()


def export_events(app, start: str | None, stop: str | None, page: int = 1000) -> Iterator[bytes]:
    """Each event with its position, stream, version, type and fields, in log order."""
    position = int(start) if start else 1
    last = int(stop) if stop else None
    while True:
        notifications = app.recorder.select_notifications(start=position, limit=page, stop=last)
        for n in notifications:
            yield _encoder.encode({
                "position": n.id, "stream": str(n.originator_id), "version": n.originator_version,
                "type": n.topic, "data": decode_state(n.state),
            })
        if len(notifications) < page:
            return
        position = notifications[-1].id + 1
