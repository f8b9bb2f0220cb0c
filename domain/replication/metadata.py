"""Metadata replication between two Tidemarks: which events travel, where they belong, and
what the receiving side remembers of each source.

A metadata policy (a push policy whose resource filter is `metadata`) ships the events of
projects (visibility, metadata, CVE allowlist, members), robot accounts and the projects'
immutability rules, retention policies and webhook policies to another Tidemark, as they were
recorded: same stream ids, same versions, same fields. Two kinds name local things and are
translated by the receiver: a webhook policy's stream is named by its project's id (the
receiver checks the source's stream against the source's id, and appends to the stream its
own id names), and its targets' auth headers are sealed with the source's key (they travel
opened, in the batch only, and the receiver seals them with its own). The receiver appends an event only when its
copy of the stream is exactly one version behind it (the version check per aggregate); a
stream it changed itself, or one it lacks the start of, is a conflict, reported and left
alone. What it acknowledged is kept per source in a `MetadataSource` stream, saved in the
same transaction as the events, so a batch is applied once or not at all.

Not shipped: quotas (usage is per stored content), users
(members name users; one missing on the receiver gives no access until a user of that name
exists there), proxy-cache projects (their registry endpoint ids are the source's).
"""

import re
from uuid import UUID

from eventsourcing.utils import resolve_topic

from domain.base import Actor, RegistryAggregate
from domain.errors import BadRequest
from domain.iam.robot import Robot, robot_id, robot_name_project
from domain.immutability import ImmutabilityRules, immutability_id
from domain.names import stream_id
from domain.project import Project, project_id
from domain.retention.policy import RetentionPolicy, retention_id
from domain.webhooks.policy import WebhookPolicy, policy_key

AGGREGATES = {"project": Project, "robot": Robot, "immutability": ImmutabilityRules, "retention": RetentionPolicy,
              "webhook": WebhookPolicy}
# Kinds whose streams belong to one incarnation of their project.
PROJECT_POLICIES = ("immutability", "retention", "webhook")
SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/#@+-]{0,254}")
MAX_CONFLICTS_KEPT = 50


def _events(aggregate: type) -> list[type]:
    return [v for v in vars(aggregate).values()
            if isinstance(v, type) and issubclass(v, RegistryAggregate.Event)]


# A proxy-cache project's registry endpoint is the source's: such projects do not travel.
STAY_HOME = (Project.ProxyCacheSet,)
# A group membership names the group by the source's id: it travels with the group's identity
# (type, name, LDAP DN), and the receiver puts its own id of that group in its place.
GROUP_EVENTS = (Project.GroupMemberAdded, Project.GroupMemberRoleChanged, Project.GroupMemberRemoved)
KIND_OF: dict[type, str] = {cls: kind for kind, agg in AGGREGATES.items() for cls in _events(agg)
                            if cls not in STAY_HOME}


def kind_of_topic(topic: str) -> str | None:
    """The kind (project, robot, immutability, retention, webhook) of a stored topic that travels;
    None for every other topic, unknown ones included."""
    try:
        return KIND_OF.get(resolve_topic(topic))
    except Exception:  # a topic no class here answers to
        return None


def event_project(kind: str, state: dict) -> str | None:
    """The project an event belongs to; None for a system robot's."""
    if kind == "project":
        return state.get("name")
    if kind == "robot":
        return robot_name_project(state.get("name", ""))
    return state.get("project")


def stream_name(kind: str, state: dict) -> str:
    """How a conflict names the stream: `project library`, `robot robot$ci`."""
    if kind == "webhook":
        return f"webhook policy {state.get('project', '?')}/{state.get('name', '?')}"
    return f"{kind} {state.get('name') or state.get('project') or '?'}"


def expected_stream(kind: str, state: dict, generation: int, project_number: int = 0) -> UUID:
    """The stream id an event of this kind and these fields must have on the side where the
    project is incarnation `generation` with id `project_number` (names are names: an event
    cannot land in a stream its fields do not name)."""
    if kind == "webhook":
        return policy_key(state["project"], project_number, state["name"])
    if kind == "project":
        return project_id(state["name"])
    if kind == "robot":
        return robot_id(state["name"])
    if kind == "immutability":
        return immutability_id(state["project"], generation)
    return retention_id(state["project"], generation)


def source_id(source: str):
    return stream_id("metadata-source", source)


def check_source(source: object) -> str:
    if not isinstance(source, str) or not SOURCE_NAME.fullmatch(source):
        raise BadRequest("source: 1 to 255 letters, digits and . _ : / # @ + - (the sending Tidemark and "
                         "its policy)", {"field": "source"})
    return source


class MetadataSource(RegistryAggregate):
    """What this Tidemark took from one sending Tidemark's policy: the source log position it
    acknowledged, counts, and the latest conflicts."""

    class Started(RegistryAggregate.Created):
        source: str

    class BatchApplied(RegistryAggregate.Event):
        """Events of the source up to its log position `through` were taken: `applied`
        appended, `skipped` already here, `conflicts` left alone (each with its reason)."""

        source: str
        after: int
        through: int
        applied: int
        skipped: int
        conflicts: list[dict]

        def apply(self, s: "MetadataSource") -> None:
            s.acknowledged = self.through
            s.applied += self.applied
            s.skipped += self.skipped
            s.conflict_count += len(self.conflicts)
            s.conflicts = (s.conflicts + list(self.conflicts))[-MAX_CONFLICTS_KEPT:]
            s.updated = self.timestamp.isoformat()

    def __init__(self, source: str) -> None:
        self.source = source
        self.acknowledged = 0
        self.applied = self.skipped = self.conflict_count = 0
        self.conflicts: list[dict] = []
        self.updated = ""

    @classmethod
    def start(cls, source: str, actor: Actor) -> "MetadataSource":
        return cls._create(cls.Started, id=source_id(check_source(source)), source=source, **actor.fields())

    def take(self, after: int, through: int, applied: int, skipped: int, conflicts: list[dict],
             actor: Actor) -> None:
        self.trigger_event(self.BatchApplied, source=self.source, after=after, through=through, applied=applied,
                           skipped=skipped, conflicts=conflicts, **actor.fields())
