"""The sending side of metadata replication: a metadata policy's task ships this Tidemark's
project, robot and project-policy events to another Tidemark (domain/replication/metadata.py).

The task asks the destination what it acknowledged for this source (this Tidemark's URL and
the policy), reads the log after that position up to the execution's end, keeps the events
the policy's name filter selects (by project name; system robots when the policy has no name
filter; never proxy-cache projects), and posts them in batches. Each answer is the new
acknowledged position, so a task that stops, a lost answer or a restart resumes from what the
destination holds, and nothing is applied twice. A robot's secret travels as its argon2 hash;
a webhook policy event travels with its project's id here (its stream is named by it) and its
targets' auth headers opened, in the batch's `secrets` only: the destination seals them with
its own key.
"""

import httpx

from commands.webhooks.handlers import AUTH_HEADER
from eventsourcing.utils import resolve_topic

from domain.iam.user_group import directory_id
from domain.replication.metadata import GROUP_EVENTS, KIND_OF, event_project, kind_of_topic
from domain.replication.selection import repository_selected
from domain.topics import stored_topics
from domain.webhooks.policy import WebhookPolicy
from infra.replication.errors import ReplicationError, Unauthorized, Unreachable
from infra.store.event_codec import decode_state
from workers.replication.remote import http_for

TOPICS = sorted(t for cls in KIND_OF for t in stored_topics(cls))
PAGE = 500
SOURCES = "/api/v2.0/replication/metadata/sources"
BATCHES = "/api/v2.0/replication/metadata/batches"


def source_name(registry, policy_id: int, policy: dict) -> str:
    """This Tidemark's URL and the policy, with the policy's creation time: a Tidemark set up
    again at the same URL is a new source, never one whose positions the destination knows."""
    return f"{registry.settings.resolved_external_url}#policy-{policy_id}@{policy.get('created', '')}"


def plan_metadata(registry, execution) -> list[dict]:
    names = [f["value"] for f in execution.policy["filters"] if f["type"] == "name"] or ["**"]
    through = execution.log_to or registry.app.head()
    what = f"metadata of projects {names[0]}"
    return [{"operation": "metadata", "resource_type": "metadata", "src_resource": what, "dst_resource": what,
             "work": {"items": [{"through": through}]}}]


def selected(registry, policy: dict, kind: str, state: dict) -> bool:
    project = event_project(kind, state)
    filters = policy["filters"]
    if project is None:  # a system robot: its permissions reach every project
        return not any(f["type"] == "name" for f in filters)
    return repository_selected(filters, project) and registry.proxy.projects.of(project) is None


def _answer(response: httpx.Response, what: str, endpoint: dict):
    if response.status_code in (401, 403):
        raise Unauthorized(f"{endpoint['name']} refused {what} (HTTP {response.status_code}): metadata "
                           "replication needs a system administrator's credentials there")
    if response.status_code == 404:
        raise ReplicationError(f"{endpoint['name']} does not take metadata batches (HTTP 404): it is not a "
                               "Tidemark, or an older one")
    if response.status_code >= 500 or response.status_code == 429:
        raise Unreachable(f"{endpoint['name']} answered {what} with HTTP {response.status_code}")
    return response


def acknowledged(http: httpx.Client, endpoint: dict, source: str) -> int:
    try:
        found = _answer(http.get(SOURCES, params={"source": source}), "the metadata sources", endpoint)
    except httpx.HTTPError as error:
        raise Unreachable(f"{endpoint['url']}: {type(error).__name__}") from None
    if found.status_code != 200:
        raise ReplicationError(f"{endpoint['name']} answered the metadata sources with HTTP {found.status_code}")
    entries = [e for e in found.json() if e.get("source") == source]
    return int(entries[0]["acknowledged"]) if entries else 0


def ship_metadata(registry, endpoint: dict, policy_id: int, policy: dict, through: int, counts: dict,
                  lines: list[str], stopping) -> list[dict]:
    """Ship the selected events up to `through`; return the conflicts the destination reported."""
    source = source_name(registry, policy_id, policy)
    app = registry.app
    conflicts: list[dict] = []
    numbers: dict = {}  # webhook policy stream -> its project's id here
    groups: dict = {}  # user group id here -> [type, name, LDAP DN]
    with http_for(registry, endpoint) as http:
        after = acknowledged(http, endpoint, source)
        if after:
            lines.append(f"{endpoint['name']} acknowledged this policy's events up to log position {after}")
        while after < through:
            if stopping():
                return conflicts
            page = app.recorder.select_notifications(start=after + 1, limit=PAGE, stop=through, topics=TOPICS)
            end = page[-1].id if len(page) == PAGE else through
            events, robots, secrets = [], {}, {}
            for n in page:
                kind = kind_of_topic(n.topic)
                state = decode_state(n.state)
                if kind is None or not selected(registry, policy, kind, state):
                    continue
                shipped = {"position": n.id, "originator_id": str(n.originator_id),
                           "version": n.originator_version, "topic": n.topic, "state": state}
                if kind == "robot":
                    robots[state["name"]] = registry.credentials.current_hash(state["name"]) or ""
                if resolve_topic(n.topic) in GROUP_EVENTS:  # the group by what it is, not by its id here
                    shipped["group"] = _group_identity(app, state["group_id"], groups)
                if kind == "webhook":
                    shipped["project_id"] = _policy_project_id(app, n.originator_id, numbers)
                    if isinstance(state.get("targets"), list):
                        secrets[str(n.id)] = [registry.secrets.open(t.get("auth_header") or "", AUTH_HEADER)
                                              for t in state["targets"]]
                events.append(shipped)
            body = {"source": source, "after": after, "through": end, "events": events,
                    "credentials": {k: v for k, v in robots.items() if v},
                    "secrets": {k: v for k, v in secrets.items() if any(v)}}
            try:
                answer = _answer(http.post(BATCHES, json=body), "a metadata batch", endpoint)
            except httpx.HTTPError as error:
                raise Unreachable(f"{endpoint['url']}: {type(error).__name__}") from None
            if answer.status_code == 409:  # another sender (or a lost answer) moved it on: ask again
                after = acknowledged(http, endpoint, source)
                lines.append(f"{endpoint['name']} had acknowledged up to {after}; going on from there")
                continue
            if answer.status_code != 200:
                raise ReplicationError(f"{endpoint['name']} refused a metadata batch (HTTP {answer.status_code}): "
                                       f"{answer.text[:300]}")
            taken = answer.json()
            counts["applied"] = counts.get("applied", 0) + taken["applied"]
            counts["skipped"] = counts.get("skipped", 0) + taken["skipped"]
            for c in taken["conflicts"]:
                conflicts.append(c)
                if len(conflicts) <= 50:
                    lines.append(f"conflict at log position {c['position']}, {c['stream']} version {c['version']}: "
                                 f"{c['reason']}")
            lines.append(f"log positions {after + 1}-{taken['acknowledged']}: {taken['applied']} events applied, "
                         f"{taken['skipped']} already there, {len(taken['conflicts'])} conflicts")
            if taken["acknowledged"] <= after:
                raise ReplicationError(f"{endpoint['name']} acknowledged nothing of the batch after {after}")
            after = taken["acknowledged"]
    return conflicts



def _policy_project_id(app, stream, numbers: dict) -> int:
    """The project id that names a webhook policy's stream here (it never changes in a stream)."""
    if stream not in numbers:
        found = app.find(stream, WebhookPolicy)
        numbers[stream] = found.project_id if found is not None else 0
    return numbers[stream]


def _group_identity(app, group_id: int, groups: dict) -> list:
    """[type, name, LDAP DN] of a user group of this Tidemark, deleted ones included (ids are
    never reused): the receiver finds or onboards its own group of that identity."""
    if group_id not in groups:
        for stored in app.recorder.select_events(directory_id()):
            fields = decode_state(stored.state)
            if "group_type" in fields:  # created or deleted: the whole identity
                groups[fields["group_id"]] = [fields["group_type"], fields["group_name"], fields["ldap_group_dn"]]
            elif "previous_name" in fields and fields.get("group_id") in groups:  # renamed
                groups[fields["group_id"]][1] = fields["group_name"]
    return groups.get(group_id, [0, "", ""])
