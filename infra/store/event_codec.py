"""Encoding of stored events with msgspec.

Event fields are plain JSON values (strings, numbers, lists, maps); the only
typed field the library adds is `timestamp`, restored here on decoding.
"""

from datetime import datetime
from typing import Any

import msgspec
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

import domain.topics  # noqa: F401 (old topics of moved classes resolve once it is imported)

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(dict)


class MsgspecMapper(Mapper):
    """Converts domain events to stored events and back, as compact JSON."""

    def __init__(self) -> None:
        super().__init__(transcoder=None)  # type: ignore[arg-type]

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(type(domain_event)),
            state=_encoder.encode(state),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        cls = resolve_topic(stored_event.topic)
        try:
            state: dict[str, Any] = _decoder.decode(stored_event.state)
            state["timestamp"] = datetime.fromisoformat(state["timestamp"])
        except (msgspec.DecodeError, KeyError, ValueError) as error:
            raise MapperDeserialisationError(
                f"cannot decode event {stored_event.topic} of {stored_event.originator_id}"
            ) from error
        originator_id = stored_event.originator_id
        state["originator_id"] = originator_id
        state["originator_version"] = stored_event.originator_version
        from_version = state.pop("class_version", 1)
        while from_version < getattr(cls, "class_version", 1):
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event


def decode_state(stored_state: bytes) -> dict[str, Any]:
    """The raw fields of a stored event, for export and the public event form."""
    return _decoder.decode(stored_state)
