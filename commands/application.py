"""The write-side application: the event store and its aggregates."""

from copy import deepcopy
from threading import Lock
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError, Application, LRUCache, Repository, project_aggregate,
)
from eventsourcing.persistence import IntegrityError, Mapper, RecordConflictError

from infra.store.event_codec import MsgspecMapper

T = TypeVar("T")


class NewestWinsCache(LRUCache):
    """The aggregate cache, never moved back to an older version of an aggregate.

    Two paths put aggregates in the cache: a load that missed it (the version read from the
    database) and a save (the version just written). Without fast-forwarding, whichever put
    came last won, so a slow load could replace the version a concurrent save had just
    written; every later command then started from a stale aggregate: its saves conflicted
    until the retries ran out, and a command that found nothing to change (enable an
    enabled user) answered success without a write. Keeping the newest version makes the
    cache follow the log in any interleaving of the threads of this process.
    """

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self._order = Lock()  # the check and the put, as one step

    def put(self, key: Any, value: Any) -> Any:
        with self._order:
            try:
                cached = super().get(key)
            except KeyError:
                cached = None
            if cached is not None and value is not None and cached.version > value.version:
                return None, None
            return super().put(key, value)

    def cached(self, key: Any) -> Any:
        try:
            return super().get(key)
        except KeyError:
            return None


class RegistryApplication(Application):
    """Holds Tidemark's event log; every change to the registry is saved here."""

    name = "tidemark"

    def construct_mapper(self) -> Mapper:
        return MsgspecMapper()

    def construct_repository(self) -> Repository:
        repository = super().construct_repository()
        if isinstance(repository.cache, LRUCache):
            repository.cache = NewestWinsCache(repository.cache.maxsize)
        return repository

    def _record(self, processing_event):
        """Save; on a conflict, bring the cached versions of the aggregates involved up to
        what the log holds (also when another process wrote them), so the retry starts from
        there. Only the events after the cached version are read: forgetting the aggregate
        instead would replay a long stream (a busy project's quota) on every retry."""
        try:
            return super()._record(processing_event)
        except (RecordConflictError, IntegrityError):
            if isinstance(self.repository.cache, NewestWinsCache):
                for aggregate_id in processing_event.aggregates:
                    self.fast_forward(aggregate_id)
            raise

    def fast_forward(self, aggregate_id: UUID) -> None:
        """Bring the cached copy of an aggregate up to what the log holds (after a conflict,
        or after events were appended to its stream without it: metadata replication)."""
        if self.repository.fastforward:  # every load reads the newer events already
            return
        cache = self.repository.cache
        cached = cache.cached(aggregate_id)
        if cached is None:
            return
        copy = deepcopy(cached)
        newer = list(self.repository.event_store.get(originator_id=aggregate_id, gt=copy.version))
        if newer:
            cache.put(aggregate_id, project_aggregate(copy, newer))

    def find(self, aggregate_id: UUID, kind: type[T]) -> T | None:
        """The aggregate with that id, or None if its stream does not exist."""
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def head(self) -> int:
        """The position of the newest event in the log (0 for an empty log)."""
        return self.recorder.max_notification_id() or 0
