"""The raw event log as JSON lines.

Secrets appear as the events hold them, sealed (useless without the key file,
which is never exported). Older versions stored webhook auth headers in clear:
those are replaced by `******`, so an exported log holds no usable secret; the
registry sealed them as new events on its first start after the upgrade.
"""

from typing import Iterator

import msgspec

from infra.event_codec import decode_state
from infra.secrets import redact_clear

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
                "type": n.topic, "data": redact_clear(decode_state(n.state)),
            })
        if len(notifications) < page:
            return
        position = notifications[-1].id + 1
