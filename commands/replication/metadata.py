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
answer acknowledges up to the event before it, and the sender goes on from there). A webhook
policy's stream is the one this side's id of the project names (the shipped one must be the
one the source's id names), and its targets' auth headers, which come opened in the batch's
`secrets`, are sealed here with this side's key before the event is made.
"""

from copy import deepcopy
from datetime import datetime, timezone
from typing import Any

import msgspec
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

from commands.application import RegistryApplication
from commands.retries import retried
from commands.webhooks.handlers import AUTH_HEADER
from infra.auth.secrets import key_id_of
from infra.store.event_codec import decode_state
from domain.base import Actor
from domain.topics import canonical
from domain.errors import BadRequest, Conflict, RegistryError
from domain.names import check_project
from domain.iam.robot import Grant, check_grants, robot_name_project
from domain.project import project_id
from domain.webhooks.targets import EVENT_TYPES, PolicySpec, check_spec
from domain.base import SYSTEM
from domain.iam.user_group import UserGroups, directory_id
from domain.replication.metadata import (
    GROUP_EVENTS, KIND_OF, PROJECT_POLICIES, MetadataSource, check_source, event_project, expected_stream, kind_of_topic,
    source_id, stream_name,
)

MAX_EVENTS = 1000
_encoder = msgspec.json.Encoder()


class ShippedEvent(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    position: int
    originator_id: str
    version: int
    topic: str
    state: dict[str, Any]
    project_id: int = 0  # the source's id of the event's project (a webhook policy's stream is named by it)
    group: list = []  # a group membership's group as the source knows it: [type, name, LDAP DN]


class MetadataBatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    source: str
    after: int
    through: int
    events: list[ShippedEvent] = []
    credentials: dict[str, str] = {}  # robot name -> its secret's argon2 hash, as the source holds it
    # str(position) -> the auth header of each target of that webhook policy event, opened
    # ("" for none): sealed here with this side's key, never kept as they came.
    secrets: dict[str, list[str]] = {}


class Taken(msgspec.Struct, frozen=True):
    acknowledged: int
    applied: int
    skipped: int
    conflicts: list[dict]


class _Stop(Exception):
    """The batch ends before this event (it needs what the batch creates to be projected)."""


class MetadataReceiver:
    def __init__(self, app: RegistryApplication, credentials, project_number, secrets=None,
                 allow_link_local: bool = False) -> None:
        self.app = app
        self.credentials = credentials
        self.project_number = project_number  # project name -> its id here (None: not yet known)
        self.secrets = secrets  # infra/auth/secrets.py: seals webhook auth headers with this side's key
        self.allow_link_local = allow_link_local  # this side's webhook_allow_link_local

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
        groups: list = []  # this side's directory of user groups, once a membership needed it
        conflicted: set = set()
        appended, conflicts, robots = [], [], {}
        skipped, through = 0, batch.through
        now = datetime.now(timezone.utc).isoformat()
        for index, shipped in enumerate(batch.events):
            try:
                outcome = self._check(index, shipped, streams, conflicted, batch.source, now,
                                      batch.secrets.get(str(shipped.position)), groups)
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
        directory = [g for g in groups if g.pending_events]  # groups onboarded for memberships
        self.app.save(*appended, source, *directory)
        for stream in streams:
            self.app.fast_forward(stream)
        self._credentials(robots, batch.credentials)
        return Taken(through, len(appended), skipped, conflicts)

    def _check(self, index: int, shipped: ShippedEvent, streams: dict, conflicted: set, source: str,
               now: str, secrets: list[str] | None = None, groups: list | None = None):
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
            generation = self._generation(project, streams) if kind in PROJECT_POLICIES else 1
            if kind in PROJECT_POLICIES and generation is None:
                return f"the project {project} does not exist here"
            number = 0
            if kind == "webhook":
                if str(expected_stream(kind, state, 0, shipped.project_id)) != shipped.originator_id:
                    raise BadRequest(f"{field}.originator_id: not the stream its fields and project_id name "
                                     "at the source", {"field": f"{field}.originator_id"})
                number = self.project_number(project)
                if number is None:  # created earlier in this batch: its id comes with the views
                    raise _Stop()
            stream = expected_stream(kind, state, generation, number)
        except RegistryError as refusal:
            raise BadRequest(f"{field}.state: {refusal.message}", {"field": f"{field}.state"}) from None
        except (KeyError, TypeError, ValueError):
            raise BadRequest(f"{field}.state: the fields of a {kind} event are missing",
                             {"field": f"{field}.state"}) from None
        if kind != "webhook" and str(stream) != shipped.originator_id:
            raise BadRequest(f"{field}.originator_id: not the stream its fields name here",
                             {"field": f"{field}.originator_id"})
        if stream in conflicted:
            return "an earlier event of this stream conflicted"
        if kind == "retention":
            number = self.project_number(project)
            if number is None:
                raise _Stop()
            state["project_id"] = number
        if resolve_topic(shipped.topic) in GROUP_EVENTS:
            state["group_id"] = self._local_group(field, shipped.group, groups if groups is not None else [])
        if kind == "webhook":
            if "project_id" in state:
                state["project_id"] = number
            if "targets" in state:
                refusal = self._refused_targets(field, state, secrets)
                if refusal is not None:  # this side's rules for webhook addresses hold for shipped ones
                    conflicted.add(stream)
                    return f"the change does not apply here: {refusal}"
                state["targets"] = self._sealed(field, state["targets"], secrets)
                if "key_id" in state:  # a re-seal at the source is one with this side's key here
                    state["key_id"] = next((key_id_of(t["auth_header"]) or "" for t in state["targets"]
                                            if t["auth_header"]), "")
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

    def _local_group(self, field: str, group: list, directory: list) -> int:
        """This side's id of the group a shipped membership names (an LDAP group by DN, others
        by type and name), onboarded here when it is not known yet, as Harbor onboards a
        member group named by name."""
        if not (isinstance(group, list) and len(group) == 3 and isinstance(group[0], int)
                and all(isinstance(v, str) for v in group[1:])):
            raise BadRequest(f"{field}.group: [type, name, LDAP DN] of the member group", {"field": f"{field}.group"})
        if not directory:
            directory.append(self.app.find(directory_id(), UserGroups) or UserGroups.start(SYSTEM))
        group_type, name, dn = group
        try:
            return directory[0].onboard(group_type, name, dn, SYSTEM)
        except RegistryError as refusal:
            raise BadRequest(f"{field}.group: {refusal.message}", {"field": f"{field}.group"}) from None

    def _refused_targets(self, field: str, state: dict, secrets: list[str] | None) -> str | None:
        """Why this side would refuse the policy's targets (an address it does not allow), or None."""
        targets = state["targets"]
        if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
            raise BadRequest(f"{field}.state.targets: a list of targets", {"field": f"{field}.state"})
        clear = [{**t, "auth_header": (secrets[i] if secrets and i < len(secrets) else "")}
                 for i, t in enumerate(targets)]
        try:
            spec = msgspec.convert({"name": state.get("name", ""), "targets": clear,
                                    "event_types": state.get("event_types") or list(EVENT_TYPES)}, PolicySpec)
            check_spec(spec, self.allow_link_local)
        except msgspec.ValidationError as error:
            raise BadRequest(f"{field}.state.targets: {error}", {"field": f"{field}.state"}) from None
        except RegistryError as error:
            return error.message
        return None

    def _sealed(self, field: str, targets: object, secrets: list[str] | None) -> list[dict]:
        """A webhook policy event's targets with the auth headers the batch brings opened,
        sealed with this side's key (a header the batch lacks is a bad batch)."""
        if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
            raise BadRequest(f"{field}.state.targets: a list of targets", {"field": f"{field}.state"})
        wanted = [bool(t.get("auth_header")) for t in targets]
        if any(wanted) and (secrets is None or len(secrets) != len(targets)
                            or not all(isinstance(v, str) for v in secrets)):
            raise BadRequest(f"secrets: the auth headers of {field}'s targets are missing",
                             {"field": "secrets"})
        if any(wanted) and self.secrets is None:
            raise BadRequest("this Tidemark cannot seal webhook auth headers", {"field": "secrets"})
        return [{**t, "auth_header": self.secrets.seal(secrets[i], AUTH_HEADER) if want and secrets[i] else ""}
                for i, (t, want) in enumerate(zip(targets, wanted))]

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
        ignored = ("project_id", "class_version", "timestamp", "replicated_from", "key_id", "group_id")
        mine = {k: v for k, v in decode_state(here[0].state).items() if k not in ignored}
        return _unsealed(mine) == _unsealed({k: v for k, v in state.items() if k not in ignored})

    def _credentials(self, robots: dict, hashes: dict[str, str]) -> None:
        """A robot's secret works here as it does at the source: its hash comes with the batch."""
        for name, robot in robots.items():
            if robot is None or robot.deleted:
                self.credentials.delete(name)
            elif hashes.get(name, "").startswith("$argon2"):
                self.credentials.set_hash(name, hashes[name])



def _unsealed(state: dict) -> dict:
    """A webhook policy event's fields for comparison: sealed headers differ at every seal."""
    if isinstance(state.get("targets"), list):
        return {**state, "targets": [{**t, "auth_header": bool(t.get("auth_header"))} if isinstance(t, dict) else t
                                     for t in state["targets"]]}
    return state
