"""Event-based replication: each event-based push policy follows the log from its own
position (table `rpl_cursors` in the views' database), so a push made while this registry or
the destination was down is replicated once both are back.

For each policy, the changes after its position (manifest and tag pushes, and deletions;
for a metadata policy, project, robot and project-policy events) become one execution
covering that log range. While the destination does not answer its
ping, the position stays where it is and the changes wait. An execution's stream is named by
its policy and range, and a range already started moves the position on, so a crash between
starting one and saving the position never replicates a change twice.
"""

import time

import structlog

from commands.replication.executions import StartExecution
from domain.artifacts.manifest import Manifest
from domain.artifacts.tag import Tag
from domain.base import Actor
from domain.errors import RegistryError
from domain.replication.metadata import kind_of_topic
from domain.replication.selection import is_metadata, repository_selected
from domain.replication.setup import ReplicationSetup
from domain.topics import stored_topics
from infra.replication.errors import ReplicationError
from infra.store.event_codec import decode_state
from workers.replication.metadata import TOPICS as METADATA_TOPICS, selected
from workers.replication.remote import client_for

log = structlog.get_logger("replication")
EVENTS = Actor(name="replication-events")
CHANGES = (Manifest.Pushed, Manifest.Repushed, Manifest.Deleted, Tag.Created, Tag.Moved, Tag.Removed)
TOPICS = sorted(t for cls in CHANGES for t in stored_topics(cls))
SETUP_TOPICS = sorted(t for cls in (ReplicationSetup.PolicyCreated, ReplicationSetup.PolicyChanged)
                      for t in stored_topics(cls))
BATCH = 500
PING_BACKOFF_SECONDS = 2.0  # a destination that did not answer is asked again after this


def change_of(event) -> dict | None:
    """What one event asks a push policy to replicate, if anything."""
    kind = type(event)
    if kind in (Manifest.Pushed, Manifest.Repushed):
        if getattr(event, "undeleted", False):
            return None
        return {"operation": "copy", "repository": event.repository, "digest": event.digest, "tag": "",
                "subject": event.subject or "", "children": list(event.manifests)}
    if kind in (Tag.Created, Tag.Moved):
        return {"operation": "copy", "repository": event.repository, "digest": event.digest, "tag": event.tag}
    if kind is Manifest.Deleted:
        return {"operation": "deletion", "repository": event.repository, "digest": event.digest, "tag": ""}
    if kind is Tag.Removed:
        return {"operation": "deletion", "repository": event.repository, "digest": event.previous_digest,
                "tag": event.tag}
    return None


def _metadata_changes(registry, policy: dict, found: list) -> list[dict]:
    """A metadata policy's execution names how many selected events its range holds."""
    count = 0
    for n in found:
        kind = kind_of_topic(n.topic)
        if kind is not None and selected(registry, policy, kind, decode_state(n.state)):
            count += 1
    return [{"operation": "metadata", "events": count}] if count else []


class ChangeFollower:
    def __init__(self, registry, prefix: str = "rpl_") -> None:
        self.registry = registry
        self.p = prefix
        self._since: dict[int, tuple[str, int]] = {}
        self._setup_seen = 0
        self._ping_after: dict[int, float] = {}

    def setup(self) -> None:
        with self.registry.db.write() as w:
            w.execute(f"CREATE TABLE IF NOT EXISTS {self.p}cursors (policy_id BIGINT PRIMARY KEY, "
                      "position BIGINT NOT NULL)")

    def cursor(self, policy_id: int) -> int:
        rows = self.registry.db.read(f"SELECT position FROM {self.p}cursors WHERE policy_id = ?", (policy_id,))
        return rows[0][0] if rows else 0

    def _save(self, policy_id: int, position: int) -> None:
        with self.registry.db.write() as w:
            w.execute(f"DELETE FROM {self.p}cursors WHERE policy_id = ?", (policy_id,))
            w.execute(f"INSERT INTO {self.p}cursors VALUES (?, ?)", (policy_id, position))

    def _event_based_since(self, policy_id: int) -> int:
        """The log position where the policy last became event-based (it replicates what
        comes after, not the history before it)."""
        app = self.registry.app
        while True:
            found = app.recorder.select_notifications(start=self._setup_seen + 1, limit=1000, topics=SETUP_TOPICS)
            if not found:
                break
            for notification in found:
                event = app.mapper.to_domain_event(notification)
                trigger = event.policy.get("trigger")
                previous = self._since.get(event.policy_id)
                if trigger == "event_based" and (previous is None or previous[0] != "event_based"):
                    self._since[event.policy_id] = ("event_based", notification.id)
                elif trigger != "event_based":
                    self._since[event.policy_id] = (trigger, notification.id)
            self._setup_seen = found[-1].id
        return self._since.get(policy_id, ("", 0))[1]

    def poll(self) -> int:
        """Start the executions the new changes call for; return how many started."""
        setup = self.registry.replication.current()
        started = 0
        for policy_id, policy in sorted(setup.policies.items()):
            if policy["trigger"] != "event_based" or not policy["enabled"] or policy["src_registry_id"]:
                continue
            try:
                started += self._poll_policy(policy_id, policy, setup.registries.get(policy["dest_registry_id"]))
            except RegistryError as refusal:
                log.warning("event-based replication waits", policy_id=policy_id, reason=refusal.message)
        return started

    def _poll_policy(self, policy_id: int, policy: dict, endpoint: dict | None) -> int:
        if endpoint is None:
            return 0
        app = self.registry.app
        position = max(self.cursor(policy_id), self._event_based_since(policy_id))
        done = self.registry.executions.after_log(policy_id, position)
        if done is not None and done.log_to > position:
            self._save(policy_id, done.log_to)
            return 0
        head = app.head()
        metadata = is_metadata(policy["filters"])
        topics = METADATA_TOPICS if metadata else TOPICS
        found = app.recorder.select_notifications(start=position + 1, limit=BATCH, stop=head, topics=topics)
        if not found:
            if head > position:  # nothing for replication up to the head: do not scan it again
                self._save(policy_id, head)
            return 0
        last = found[-1].id
        if metadata:
            changes = _metadata_changes(self.registry, policy, found)
        else:
            changes = [c for c in (change_of(app.mapper.to_domain_event(n)) for n in found)
                       if c is not None and repository_selected(policy["filters"], c["repository"])
                       and (c["operation"] == "copy" or policy.get("replicate_deletion"))]
        if not changes:
            self._save(policy_id, last)
            return 0
        if time.monotonic() < self._ping_after.get(policy_id, 0.0):
            return 0
        try:
            with client_for(self.registry, endpoint, timeout=10.0) as client:
                client.ping()
        except ReplicationError as error:
            # Not again at once: a wrong password tried four times a second would trip the
            # destination's sign-in throttle (and lock its account for everyone else).
            self._ping_after[policy_id] = time.monotonic() + PING_BACKOFF_SECONDS
            log.info("event-based replication waits for its destination", policy_id=policy_id,
                     destination=endpoint["name"], reason=str(error))
            return 0
        self._ping_after.pop(policy_id, None)
        self.registry.execution_commands.start(StartExecution(
            policy_id, "event_based", EVENTS, changes, log_from=position, log_to=last))
        self._save(policy_id, last)
        return 1
