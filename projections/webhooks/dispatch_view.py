"""The webhook dispatcher: turns the log into delivery jobs, in log order.

It is a raw view driven by a `Projector` (name `webhook_dispatch`): its tables
and its position move in one transaction under the position row lock, so each
event is matched once, by one process, against the policies *as they were at
that point of the log*. A policy created later never receives older events,
except through an explicit replay, which is itself an event
(`WebhookPolicy.ReplayRequested`) and is expanded here, in order, like any other.

Job ids are counted here; replaying the log (a rebuild) counts them the same way.
The auth headers of targets are not kept here: the sender reads them from the
policy view when it sends, so a changed header applies to pending jobs too.
"""

import json
from typing import Any, Iterator

from eventsourcing.utils import get_topic

from domain.project import Project
from domain.topics import canonical
from domain.webhooks.delivery import delivery_key
from domain.webhooks.policy import WebhookPolicy
from infra.store.event_codec import decode_state
from infra.store.sql import Writer
from projections.webhooks.events import DELETED, PUSHED, SOURCES, STORED_SOURCES, Occurrence, translate

POLICY_PREFIX = get_topic(WebhookPolicy) + "."
PROJECT_DELETED = get_topic(Project.Deleted)
LOOKAHEAD = 16  # events read at a time after a manifest push or delete, for its tags
REPLAY_CHUNK = 1000


def schema(p: str) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS {p}policies (
            policy_key TEXT PRIMARY KEY, project TEXT NOT NULL, project_id BIGINT NOT NULL,
            policy_id BIGINT NOT NULL, name TEXT NOT NULL, enabled INTEGER NOT NULL,
            deleted INTEGER NOT NULL, event_types TEXT NOT NULL, targets TEXT NOT NULL)""",
        f"CREATE INDEX IF NOT EXISTS {p}policies_project ON {p}policies (project)",
        f"""CREATE TABLE IF NOT EXISTS {p}repos (
            repository TEXT PRIMARY KEY, live BIGINT NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS {p}emptied (
            position BIGINT NOT NULL, repository TEXT NOT NULL, PRIMARY KEY (position, repository))""",
        f"""CREATE TABLE IF NOT EXISTS {p}occurrences (
            occ_id BIGINT PRIMARY KEY, position BIGINT NOT NULL, event_id TEXT NOT NULL,
            project TEXT NOT NULL, event_type TEXT NOT NULL, data TEXT NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS {p}jobs (
            job_id BIGINT PRIMARY KEY, job_key TEXT NOT NULL UNIQUE, project TEXT NOT NULL,
            policy_id BIGINT NOT NULL, policy_key TEXT NOT NULL, occ_id BIGINT NOT NULL,
            position BIGINT NOT NULL, event_id TEXT NOT NULL, event_type TEXT NOT NULL,
            notify_type TEXT NOT NULL, address TEXT NOT NULL, payload_format TEXT NOT NULL,
            target_index INTEGER NOT NULL, replay BIGINT NOT NULL, occur_at BIGINT NOT NULL)""",
        f"CREATE INDEX IF NOT EXISTS {p}jobs_policy ON {p}jobs (project, policy_id, job_id)",
        f"""CREATE TABLE IF NOT EXISTS {p}counters (
            name TEXT PRIMARY KEY, value BIGINT NOT NULL)""",
    ]


class WebhookDispatchView:
    """Subclassed with `app` (the application whose log it reads ahead in) by `dispatch_view`,
    so the rebuild command can make a fresh one from its type and a prefix."""

    name = "webhook_dispatch"
    raw = True
    tables = ("policies", "repos", "emptied", "occurrences", "jobs", "counters")
    indexes = ("policies_project", "jobs_policy")
    app: Any = None

    def __init__(self, prefix: str = "whd_") -> None:
        self.p = prefix
        # Matching policies by (position of the last policy change, projects): the policies
        # at a position are a function of the log up to it, so a rolled-back batch cannot
        # leave a wrong entry behind.
        self._cache: dict[tuple, list[dict]] = {}

    def create(self, w: Writer) -> None:
        for statement in schema(self.p):
            w.execute(statement)

    def drop(self, w: Writer) -> None:
        for table in self.tables:
            w.execute(f"DROP TABLE IF EXISTS {self.p}{table}")

    def drop_indexes(self, w: Writer) -> None:
        for index in self.indexes:
            w.execute(f"DROP INDEX IF EXISTS {self.p}{index}")

    # -- following the log ------------------------------------------------------------------

    def apply_raw(self, w: Writer, n: Any) -> set:
        topic = canonical(n.topic)
        if topic.startswith(POLICY_PREFIX):
            return self._policy_event(w, n, decode_state(n.state))
        if topic not in SOURCES:
            return set()
        data = decode_state(n.state)
        emptied = False
        if topic == PROJECT_DELETED:
            w.execute(f"UPDATE {self.p}policies SET deleted = 1 WHERE project = ?", (data["name"],))
            self._set_counter(w, "policies_at", n.id)
        elif topic in PUSHED:
            w.execute(f"INSERT INTO {self.p}repos VALUES (?, 1) ON CONFLICT (repository) "
                      f"DO UPDATE SET live = {self.p}repos.live + 1", (data["repository"],))
        elif topic == DELETED:
            rows = w.execute(f"UPDATE {self.p}repos SET live = live - 1 WHERE repository = ? "
                             "RETURNING live", (data["repository"],))
            emptied = bool(rows) and rows[0][0] <= 0
            if emptied:
                w.execute(f"INSERT INTO {self.p}emptied VALUES (?, ?) ON CONFLICT DO NOTHING",
                          (n.id, data["repository"]))
        occurrences = translate(n, data, lambda: self._following(n.id), emptied,
                                stream=lambda: self._stream(n))
        if not occurrences:
            return set()
        policies = self._policies(w, {o.project for o in occurrences})
        return self._dispatch(w, n.id, occurrences, policies, replay=0)

    def _following(self, position: int) -> Iterator[tuple[Any, dict]]:
        start = position + 1
        while True:
            batch = self.app.recorder.select_notifications(start=start, limit=LOOKAHEAD)
            for notification in batch:
                yield notification, decode_state(notification.state)
            if len(batch) < LOOKAHEAD:
                return
            start = batch[-1].id + 1

    def _stream(self, n: Any) -> list[tuple[str, dict]]:
        """(topic, fields) of the events of `n`'s aggregate up to `n` (a retention run's)."""
        stored = self.app.recorder.select_events(n.originator_id, lte=n.originator_version)
        return [(canonical(e.topic), decode_state(e.state)) for e in stored]

    def _policies(self, w: Writer, projects: set[str], key: str | None = None) -> list[dict]:
        if key is not None:
            rows = w.execute(f"SELECT policy_key, project, project_id, policy_id, event_types, targets "
                             f"FROM {self.p}policies WHERE policy_key = ? AND deleted = 0", (key,))
        else:
            cache_key = (self._counter(w, "policies_at"), *sorted(projects))
            cached = self._cache.get(cache_key)
            if cached is not None:
                return cached
            marks = ", ".join("?" for _ in projects)
            rows = w.execute(f"SELECT policy_key, project, project_id, policy_id, event_types, targets "
                             f"FROM {self.p}policies WHERE project IN ({marks}) AND enabled = 1 "
                             "AND deleted = 0 ORDER BY policy_id", sorted(projects))
            if len(self._cache) > 1000:
                self._cache.clear()
            self._cache[cache_key] = self._rows(rows)
            return self._cache[cache_key]
        return self._rows(rows)

    @staticmethod
    def _rows(rows: list[tuple]) -> list[dict]:
        return [{"key": r[0], "project": r[1], "project_id": r[2], "policy_id": r[3],
                 "event_types": set(json.loads(r[4])), "targets": json.loads(r[5])} for r in rows]

    def _dispatch(self, w: Writer, position: int, occurrences: list[Occurrence],
                  policies: list[dict], replay: int) -> set:
        if not policies:
            return set()
        jobs, found = [], []
        occ_id, job_id = self._counter(w, "occurrences"), self._counter(w, "jobs")
        for occurrence in occurrences:
            matching = [p for p in policies if occurrence.event_type in p["event_types"]
                        and p["project"] == occurrence.project]
            if not matching:
                continue
            occ_id += 1
            found.append((occ_id, position, occurrence.event_id, occurrence.project,
                          occurrence.event_type, json.dumps(occurrence.data)))
            for policy in matching:
                for index, target in enumerate(policy["targets"]):
                    job_id += 1
                    key = delivery_key(policy["key"], occurrence.event_id, index, replay)
                    jobs.append((job_id, str(key), occurrence.project, policy["policy_id"],
                                 policy["key"], occ_id, position, occurrence.event_id,
                                 occurrence.event_type, target["type"], target["address"],
                                 target["payload_format"], index, replay,
                                 occurrence.data["occur_at"]))
        if not jobs:
            return set()
        w.executemany(f"INSERT INTO {self.p}occurrences VALUES (?, ?, ?, ?, ?, ?)", found)
        w.executemany(f"INSERT INTO {self.p}jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                      "ON CONFLICT DO NOTHING", jobs)
        self._set_counter(w, "occurrences", occ_id)
        self._set_counter(w, "jobs", job_id)
        return {("webhook_jobs",)}

    def _counter(self, w: Writer, name: str) -> int:
        rows = w.execute(f"SELECT value FROM {self.p}counters WHERE name = ?", (name,))
        return rows[0][0] if rows else 0

    def _set_counter(self, w: Writer, name: str, value: int) -> None:
        w.execute(f"INSERT INTO {self.p}counters VALUES (?, ?) ON CONFLICT (name) DO UPDATE "
                  "SET value = excluded.value", (name, value))

    # -- policy events ----------------------------------------------------------------------

    def _policy_event(self, w: Writer, n: Any, e: dict) -> set:
        kind = canonical(n.topic)[len(POLICY_PREFIX):]
        key = str(n.originator_id)
        if kind != "ReplayRequested":
            self._set_counter(w, "policies_at", n.id)
        if kind in ("Created", "Recreated"):
            w.execute(f"INSERT INTO {self.p}policies VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?) "
                      "ON CONFLICT (policy_key) DO UPDATE SET policy_id = excluded.policy_id, "
                      "enabled = excluded.enabled, deleted = 0, event_types = excluded.event_types, "
                      "targets = excluded.targets",
                      (key, e["project"], e["project_id"], n.id, e["name"], int(e["enabled"]),
                       json.dumps(e["event_types"]), json.dumps(_without_secrets(e["targets"]))))
        elif kind == "Updated":
            w.execute(f"UPDATE {self.p}policies SET event_types = ?, targets = ? WHERE policy_key = ?",
                      (json.dumps(e["event_types"]), json.dumps(_without_secrets(e["targets"])), key))
        elif kind == "EnabledChanged":
            w.execute(f"UPDATE {self.p}policies SET enabled = ? WHERE policy_key = ?",
                      (int(e["enabled"]), key))
        elif kind == "Deleted":
            w.execute(f"UPDATE {self.p}policies SET deleted = 1 WHERE policy_key = ?", (key,))
        elif kind == "ReplayRequested":
            if e.get("replicated_from"):  # asked at another Tidemark, of its own log's positions
                return set()
            return self._replay(w, key, e["from_position"], e["to_position"], n.id)
        return set()

    def _replay(self, w: Writer, key: str, start: int, stop: int, replay: int) -> set:
        """Every matching event in (start, stop] becomes a new job of this one policy."""
        policies = self._policies(w, set(), key=key)
        if not policies:
            return set()
        stale: set = set()
        position = start
        while position < stop:
            batch = self.app.recorder.select_notifications(
                start=position + 1, limit=REPLAY_CHUNK, stop=stop, topics=STORED_SOURCES)
            for n in batch:
                data = decode_state(n.state)
                emptied = canonical(n.topic) == DELETED and bool(w.execute(
                    f"SELECT 1 FROM {self.p}emptied WHERE position = ? AND repository = ?",
                    (n.id, data["repository"])))
                occurrences = translate(n, data, lambda: self._following(n.id), emptied,
                                        stream=lambda: self._stream(n))
                stale |= self._dispatch(w, n.id, occurrences, policies, replay)
            if len(batch) < REPLAY_CHUNK:
                break
            position = batch[-1].id
        return stale


def _without_secrets(targets: list[dict]) -> list[dict]:
    return [{k: v for k, v in t.items() if k != "auth_header"} for t in targets]


def dispatch_view(app: Any, prefix: str = "whd_") -> WebhookDispatchView:
    """The dispatcher's view over `app`'s log."""
    bound = type("WebhookDispatchView", (WebhookDispatchView,), {"app": app})
    return bound(prefix)
