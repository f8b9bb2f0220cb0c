"""Taking a batch of another Tidemark's metadata events (domain/replication/metadata.py).

Each event is checked before anything is saved: its class is one that travels, its stream id
is the one its fields name here, and this Tidemark's copy of the stream is exactly one
version behind it. An event already here (same version, same fields) is skipped; one whose
version is taken by a different event here, or that comes after a version this side lacks,
is a conflict: reported, not applied, and so are the later events of that stream in the
batch. What is appended and the source's new acknowledged position are saved in one
transaction, with this side's time (the source's time and position are kept in the event's
`replicated_from`). A retention policy's project id is this side's id of the project; an event that
needs the id of a project created earlier in the same batch ends the batch there (the
answer acknowledges up to the event before it, and the sender goes on from there).
"""

from copy import deepcopy
from datetime import datetime, timezone
from typing import Any

import msgspec
from eventsourcing.persistence import StoredEvent

from commands.application import RegistryApplication
from commands.retries import retried
from infra.store.event_codec import decode_state
from domain.base import Actor
from domain.topics import canonical
from domain.errors import BadRequest, Conflict, RegistryError
from domain.names import check_project
from domain.iam.robot import Grant, check_grants, robot_name_project
from domain.project import project_id
from domain.replication.metadata import (
    KIND_OF, MetadataSource, check_source, event_project, expected_stream, kind_of_topic, source_id, stream_name,
)

MAX_EVENTS = 1000
_encoder = msgspec.json.Encoder()


class ShippedEvent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    position: int
    originator_id: str
    version: int
    topic: str
    state: dict[str, Any]


class MetadataBatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    source: str
    after: int
    through: int
    events: list[ShippedEvent] = []
    credentials: dict[str, str] = {}  # robot name -> its secret's argon2 hash, as the source holds it


class Taken(msgspec.Struct, frozen=True):
    acknowledged: int
    applied: int
    skipped: int
    conflicts: list[dict]


class _Stop(Exception):
    """The batch ends before this event (it needs what the batch creates to be projected)."""


class MetadataReceiver:
    def __init__(self, app: RegistryApplication, credentials, project_number) -> None:
        self.app = app
        self.credentials = credentials
        self.project_number = project_number  # project name -> its id here (None: not yet known)

    def source(self, source: str) -> MetadataSource | None:
        return self.app.find(source_id(check_source(source)), MetadataSource)

    @retried
    def take(self, batch: MetadataBatch, actor: Actor) -> Taken:
        check_source(batch.source)
        if len(batch.events) > MAX_EVENTS:
            raise BadRequest(f"events: at most {MAX_EVENTS} per batch", {"field": "events"})
        if batch.through < batch.after or any(
                not batch.after < e.position <= batch.through for e in batch.events):
            raise BadRequest("through, events: every event's position is after `after` and at most `through`",
                             {"field": "through"})
        source = self.source(batch.source) or MetadataSource.start(batch.source, actor)
        if batch.after != source.acknowledged:
            raise Conflict(f"this Tidemark acknowledged {batch.source} up to {source.acknowledged}, "
                           f"not {batch.after}; send from there", {"acknowledged": source.acknowledged})
        streams: dict = {}  # stream id -> the aggregate as the batch leaves it (None: absent)
        conflicted: set = set()
        appended, conflicts, robots = [], [], {}
        skipped, through = 0, batch.through
        now = datetime.now(timezone.utc).isoformat()
        for index, shipped in enumerate(batch.events):
            try:
                outcome = self._check(index, shipped, streams, conflicted, batch.source, now)
            except _Stop:
                through = shipped.position - 1
                break
            if outcome is None:
                skipped += 1
            elif isinstance(outcome, str):
                conflicts.append({"position": shipped.position, "version": shipped.version,
                                  "stream": stream_name(kind_of_topic(shipped.topic), shipped.state),
                                  "reason": outcome})
            else:
                appended.append(outcome)
                if KIND_OF[type(outcome)] == "robot":
                    robots[outcome.name] = streams[outcome.originator_id]
        source.take(batch.after, through, len(appended), skipped, conflicts, actor)
        self.app.save(*appended, source)
        for stream in streams:
            self.app.fast_forward(stream)
        self._credentials(robots, batch.credentials)
        return Taken(through, len(appended), skipped, conflicts)

    def _check(self, index: int, shipped: ShippedEvent, streams: dict, conflicted: set, source: str,
               now: str):
        """The event to append, None to skip it, or the reason of a conflict."""
        field = f"events[{index}]"
        kind = kind_of_topic(shipped.topic)
        if kind is None:
            raise BadRequest(f"{field}.topic: not an event metadata replication carries", {"field": f"{field}.topic"})
        state = dict(shipped.state)
        try:
            project = event_project(kind, state)
            if project is not None:
                check_project(project)
            generation = self._generation(project, streams) if kind in ("immutability", "retention") else 1
            if kind in ("immutability", "retention") and generation is None:
                return f"the project {project} does not exist here"
            stream = expected_stream(kind, state, generation)
        except RegistryError as refusal:
            raise BadRequest(f"{field}.state: {refusal.message}", {"field": f"{field}.state"}) from None
        except (KeyError, TypeError, ValueError):
            raise BadRequest(f"{field}.state: the fields of a {kind} event are missing",
                             {"field": f"{field}.state"}) from None
        if str(stream) != shipped.originator_id:
            raise BadRequest(f"{field}.originator_id: not the stream its fields name here",
                             {"field": f"{field}.originator_id"})
        if stream in conflicted:
            return "an earlier event of this stream conflicted"
        if kind == "retention":
            number = self.project_number(project)
            if number is None:
                raise _Stop()
            state["project_id"] = number
        # This log's times are this side's: at=T shows what this Tidemark held at T. The
        # source's time and position stay with the event.
        state["replicated_from"] = {"source": source, "position": shipped.position,
                                    "timestamp": state.get("timestamp")}
        state["timestamp"] = now
        event = self._decode(field, stream, shipped, state)
        current = streams[stream] if stream in streams else self.app.find(stream, object)
        version = current.version if current is not None else 0
        if shipped.version <= version:
            if self._same(stream, shipped, state):
                return None
            conflicted.add(stream)
            return f"version {shipped.version} here is a different change (this side changed the {kind} itself)"
        if shipped.version > version + 1:
            conflicted.add(stream)
            return f"this side holds version {version} of the stream, the event is version {shipped.version}"
        try:
            aggregate = event.mutate(deepcopy(current) if current is not None else None)
            if kind == "robot" and hasattr(event, "grants"):
                grants = check_grants([msgspec.convert(g, Grant) for g in event.grants], aggregate.level)
                own = robot_name_project(aggregate.name)
                if own is not None and any(g.namespace != own for g in grants):
                    raise BadRequest("a project robot may only hold permissions on its own project")
        except Exception as error:  # a change this side's rules refuse
            conflicted.add(stream)
            return f"the change does not apply here: {getattr(error, 'message', None) or error}"
        streams[stream] = aggregate
        return event

    def _generation(self, project: str | None, streams: dict) -> int | None:
        key = project_id(project or "")
        found = streams[key] if key in streams else self.app.find(key, object)
        return None if found is None or found.deleted else found.generation

    def _decode(self, field: str, stream, shipped: ShippedEvent, state: dict):
        stored = StoredEvent(originator_id=stream, originator_version=shipped.version, topic=shipped.topic,
                             state=_encoder.encode(state))
        try:
            return self.app.mapper.to_domain_event(stored)
        except Exception:
            raise BadRequest(f"{field}.state: not a valid {shipped.topic} event", {"field": f"{field}.state"}) from None

    def _same(self, stream, shipped: ShippedEvent, state: dict) -> bool:
        here = self.app.recorder.select_events(stream, gt=shipped.version - 1, lte=shipped.version)
        if not here or canonical(here[0].topic) != canonical(shipped.topic):
            return False
        ignored = ("project_id", "class_version", "timestamp", "replicated_from")
        mine = {k: v for k, v in decode_state(here[0].state).items() if k not in ignored}
        return mine == {k: v for k, v in state.items() if k not in ignored}

    def _credentials(self, robots: dict, hashes: dict[str, str]) -> None:
        """A robot's secret works here as it does at the source: its hash comes with the batch."""
        for name, robot in robots.items():
            if robot is None or robot.deleted:
                self.credentials.delete(name)
            elif hashes.get(name, "").startswith("$argon2"):
                self.credentials.set_hash(name, hashes[name])

