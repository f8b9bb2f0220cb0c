"""The write-side application: the event store and its aggregates."""

from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import Mapper

from infra.event_codec import MsgspecMapper

T = TypeVar("T")


class RegistryApplication(Application):
    """Holds Tidemark's event log; every change to the registry is saved here."""

    name = "tidemark"

    def construct_mapper(self) -> Mapper:
        return MsgspecMapper()

    def find(self, aggregate_id: UUID, kind: type[T]) -> T | None:
        """The aggregate with that id, or None if its stream does not exist."""
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def head(self) -> int:
        """The position of the newest event in the log (0 for an empty log)."""
        return self.recorder.max_notification_id() or 0
