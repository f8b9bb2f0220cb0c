"""The receiving side of metadata replication (POST /replication/metadata/batches), on SQLite
and PostgreSQL: events appended with their stream ids and versions, the version check per
stream (duplicates skipped, local changes and gaps reported as conflicts), the acknowledged
position per source, a robot's secret working from its shipped hash, and what is refused:
events that do not travel, events in a stream their fields do not name, callers who are not
system administrators, and a second batch racing the first."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from argon2 import PasswordHasher

from domain.base import Actor
from domain.iam.robot import Grant, Robot
from domain.iam.user import User
from domain.project import Project, project_id
from infra.store.event_codec import MsgspecMapper, decode_state
from tests.integration.conftest import basic

API = "/api/v2.0"
BATCHES = f"{API}/replication/metadata/batches"
SOURCES = f"{API}/replication/metadata/sources"
ALICE = Actor(name="alice", client_ip="10.0.0.7")
_mapper = MsgspecMapper()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def shipped(aggregate, first_position: int) -> list[dict]:
    """The pending events of a source-side aggregate as a sender ships them."""
    events = []
    for offset, event in enumerate(aggregate.collect_events()):
        stored = _mapper.to_stored_event(event)
        events.append({"position": first_position + offset, "originator_id": str(stored.originator_id),
                       "version": stored.originator_version, "topic": stored.topic,
                       "state": decode_state(stored.state)})
    return events


def batch(events: list[dict], after: int = 0, through: int | None = None, source: str = "http://a.test#policy-1",
          credentials: dict | None = None) -> dict:
    return {"source": source, "after": after, "through": through if through is not None else
            max([e["position"] for e in events] or [after]), "events": events, "credentials": credentials or {}}


def a_project(name: str = "shipped") -> Project:
    project = Project.create(name, False, ALICE)
    project.add_member("alice", 2, ALICE)
    project.set_metadata({"auto_scan": "true"}, ALICE)
    return project


def test_a_batch_creates_the_project_with_its_history_and_acknowledges_it(http):
    project = a_project()
    time.sleep(0.01)
    before = datetime.now(timezone.utc).isoformat()  # after the source made the events, before they came
    time.sleep(0.01)
    answer = http.post(BATCHES, json=batch(shipped(project, 10)))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"acknowledged": 12, "applied": 3, "skipped": 0, "conflicts": []}
    seen = http.get(f"{API}/projects/shipped")
    assert seen.status_code == 200 and seen.json()["metadata"]["public"] == "false"
    assert seen.json()["metadata"]["auto_scan"] == "true"
    assert http.get(f"{API}/projects/shipped", params={"at": before}).status_code == 404  # this side's time
    members = http.get(f"{API}/projects/shipped/members")
    assert members.status_code == 200, members.text
    logs = http.get(f"{API}/audit-logs", params={"q": "resource=shipped"}).json()
    assert any(entry["username"] == "alice" for entry in logs)  # the original actor, not the sender
    sources = http.get(SOURCES).json()
    assert [(s["source"], s["acknowledged"], s["applied"]) for s in sources] == [("http://a.test#policy-1", 12, 3)]
    feed = http.get(f"{API}/events", params={"limit": 1000}).json()
    items = feed["events"] if isinstance(feed, dict) else feed
    created = [e for e in items if e["type"] == "io.tidemark.project.created.v1" and e["data"]["name"] == "shipped"]
    assert created[0]["data"]["replicated_from"]["source"] == "http://a.test#policy-1"
    assert created[0]["data"]["replicated_from"]["position"] == 10
    assert any(e["type"] == "io.tidemark.replication.metadata_batch_applied.v1" for e in items)


def test_the_version_check_skips_what_is_here_and_reports_what_differs(http):
    project = a_project()
    events = shipped(project, 1)
    assert http.post(BATCHES, json=batch(events)).status_code == 200
    again = http.post(BATCHES, json=batch(events, source="http://a.test#policy-2")).json()
    assert (again["applied"], again["skipped"], again["conflicts"]) == (0, 3, [])
    assert http.post(f"{API}/projects", json={"project_name": "mine", "metadata": {"public": "true"}}).status_code == 201
    theirs = shipped(Project.create("mine", False, ALICE), 5)
    project.set_public(True, ALICE)
    gap = shipped(project, 6)
    gap[0]["version"] = 9
    answer = http.post(BATCHES, json=batch(theirs + gap, after=3)).json()
    assert answer["applied"] == 0 and answer["acknowledged"] == 6
    assert [(c["stream"], c["version"]) for c in answer["conflicts"]] == [("project mine", 1), ("project shipped", 9)]
    assert "changed the project itself" in answer["conflicts"][0]["reason"]
    assert "holds version 3" in answer["conflicts"][1]["reason"]
    assert http.get(f"{API}/projects/mine").json()["metadata"]["public"] == "true"  # this side's own, untouched
    assert http.get(f"{API}/projects/shipped").json()["metadata"]["public"] == "false"
    kept = [s for s in http.get(SOURCES).json() if s["source"] == "http://a.test#policy-1"][0]
    assert kept["conflict_count"] == 2 and kept["acknowledged"] == 6


def test_a_robot_signs_in_with_the_secret_it_has_at_the_source(http):
    robot = Robot.create("robot$shipped+ci", "project", "", [Grant("project", "shipped", [("repository", "pull"), ("repository", "list")])],
                         -1, -1, ALICE)
    events = shipped(a_project(), 1) + shipped(robot, 4)
    hashed = PasswordHasher().hash("Robot-Secret-123")
    answer = http.post(BATCHES, json=batch(events, credentials={"robot$shipped+ci": hashed}))
    assert answer.status_code == 200 and answer.json()["applied"] == 4, answer.text
    as_robot = {"authorization": basic("robot$shipped+ci", "Robot-Secret-123")}
    assert http.get(f"{API}/projects/shipped/repositories", headers=as_robot).status_code == 200
    wrong = {"authorization": basic("robot$shipped+ci", "Robot-Secret-124")}
    assert http.get(f"{API}/projects/shipped/repositories", headers=wrong).status_code == 401
    # A project robot reaching into another project does not apply here (a conflict, not a grant).
    greedy = Robot.create("robot$shipped+greedy", "project", "", [Grant("project", "other", [("repository", "pull")])],
                          -1, -1, ALICE)
    answer = http.post(BATCHES, json=batch(shipped(greedy, 5), after=4)).json()
    assert answer["applied"] == 0 and "own project" in answer["conflicts"][0]["reason"]


def test_events_that_do_not_travel_or_name_another_stream_are_refused_and_nothing_is_kept(http):
    user = User.create("mallory", "m@x.io", "", "", True, ALICE)
    user_events = shipped(user, 1)
    refused = http.post(BATCHES, json=batch(user_events))
    assert refused.status_code == 400 and "topic" in refused.text
    elsewhere = shipped(a_project("victim"), 1)
    elsewhere[0]["state"]["name"] = "other"  # a Created event for "other" in victim's stream
    refused = http.post(BATCHES, json=batch(elsewhere))
    assert refused.status_code == 400 and "originator_id" in refused.text
    bad_name = shipped(a_project("fine"), 1)[:1]
    bad_name[0]["state"]["name"] = "../Up"
    bad_name[0]["originator_id"] = str(project_id("../Up"))
    assert http.post(BATCHES, json=batch(bad_name)).status_code == 400
    assert http.post(BATCHES, json={"source": "x", "after": 0, "through": 1, "events": [], "surprise": 1}).status_code == 400
    assert http.get(SOURCES).json() == []
    assert http.get(f"{API}/projects/victim").status_code == 404 and http.get(f"{API}/projects/other").status_code == 404


def test_only_system_administrators_send_batches(http):
    access = [{"resource": r, "action": a} for r, a in (("replication", "create"), ("replication", "read"),
                                                        ("replication", "list"))]
    made = http.post(f"{API}/robots", json={"name": "runner", "level": "system", "duration": -1,
                                            "permissions": [{"kind": "system", "namespace": "/", "access": access}]})
    assert made.status_code == 201, made.text
    robot = {"authorization": basic(made.json()["name"], made.json()["secret"])}
    assert http.post(f"{API}/users", json={"username": "eve", "password": "Eve-Passw0rd", "email": "e@x.io"}
                     ).status_code == 201
    eve = {"authorization": basic("eve", "Eve-Passw0rd")}
    body = batch(shipped(a_project("taken"), 1))
    for who, status in ((robot, 403), (eve, 403), ({"authorization": ""}, 401)):
        assert http.post(BATCHES, headers=who, json=body).status_code == status
        assert http.get(SOURCES, headers=who).status_code == status
    assert http.get(f"{API}/projects/taken").status_code == 404
    assert http.get(SOURCES).json() == []


def test_racing_batches_of_one_source_apply_once(http):
    body = batch(shipped(a_project("raced"), 1))
    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(lambda _: http.post(BATCHES, json=body).status_code, range(4)))
    assert statuses.count(200) == 1 and set(statuses[1:]) == {409}, statuses
    source = http.get(SOURCES).json()[0]
    assert (source["acknowledged"], source["applied"]) == (3, 3)
    after = http.post(BATCHES, json=body)
    assert after.status_code == 409 and "acknowledged" in after.text


# -- webhook policies: streams named by this side's project id, headers sealed with its key --

def a_webhook_policy(project: str, source_project_id: int, address: str = "https://hooks.example.test/in"):
    from domain.webhooks.policy import WebhookPolicy
    from domain.webhooks.targets import PolicySpec, Target

    spec = PolicySpec(name="ci", targets=[Target(address=address, auth_header="tdm-sealed:srckey:not-for-here")],
                      event_types=["PUSH_ARTIFACT"])
    return WebhookPolicy.create(project, source_project_id, spec, ALICE)


def webhook_events(http, registry) -> list[dict]:
    from domain.topics import canonical

    return [decode_state(n.state) for n in registry.app.recorder.select_notifications(start=1, limit=10_000)
            if canonical(n.topic).startswith("domain.webhooks.policy:")]


def test_a_webhook_policy_arrives_bound_to_this_sides_project_with_its_header_sealed_here(http, registry):
    from infra.auth.secrets import is_sealed

    project_events = shipped(a_project("hooked"), 1)
    policy = a_webhook_policy("hooked", 77)  # 77: the project's id at the source
    events = project_events + shipped(policy, 4)
    for event in events[3:]:
        event["project_id"] = 77
    secrets = {"4": ["Bearer shipped-token-123"]}
    first = http.post(BATCHES, json={**batch(events), "secrets": secrets})
    assert first.status_code == 200, first.text
    # The policy needs this side's id of a project the same batch creates: the batch ends before it.
    assert first.json()["acknowledged"] == 3 and first.json()["applied"] == 3
    rest = http.post(BATCHES, json={**batch(events[3:], after=3), "secrets": secrets})
    assert rest.status_code == 200 and rest.json()["applied"] == 1, rest.text
    here = http.get(f"{API}/projects/hooked").json()["project_id"]
    policies = http.get(f"{API}/projects/hooked/webhook/policies").json()
    assert [(p["name"], p["project_id"]) for p in policies] == [("ci", here)]
    assert policies[0]["targets"][0]["auth_header"] == "******"  # shown as anywhere else
    stored = webhook_events(http, registry)
    header = stored[-1]["targets"][0]["auth_header"]
    assert is_sealed(header) and header != "tdm-sealed:srckey:not-for-here"
    assert registry.secrets.open(header, "webhook auth header") == "Bearer shipped-token-123"
    assert "shipped-token-123" not in repr(stored)
    # The same batch again is skipped: sealed headers differ, the policy does not.
    again = http.post(BATCHES, json={**batch(events[3:], source="http://b.test#policy-9"),
                                     "secrets": secrets})
    assert again.status_code == 200 and (again.json()["applied"], again.json()["skipped"]) == (0, 1), again.text


def test_a_webhook_policy_batch_is_checked_and_refused_whole(http, registry):
    assert http.post(BATCHES, json=batch(shipped(a_project("hooked"), 1))).status_code == 200
    good = shipped(a_webhook_policy("hooked", 77), 4)
    good[0]["project_id"] = 77
    lying = [{**good[0], "project_id": 78}]  # a stream the source's id does not name
    refused = http.post(BATCHES, json={**batch(lying, after=3), "secrets": {"4": ["Bearer x"]}})
    assert refused.status_code == 400 and "originator_id" in refused.text
    no_header = http.post(BATCHES, json=batch(good, after=3))  # the sealed header cannot be opened here
    assert no_header.status_code == 400 and "secrets" in no_header.text
    assert webhook_events(http, registry) == []
    # An address this side does not allow is a conflict, not a policy.
    metadata = shipped(a_webhook_policy("hooked", 77, address="http://169.254.169.254/latest"), 4)
    metadata[0]["project_id"] = 77
    answer = http.post(BATCHES, json={**batch(metadata, after=3), "secrets": {"4": ["Bearer x"]}})
    assert answer.status_code == 200 and answer.json()["applied"] == 0, answer.text
    assert "link-local" in answer.json()["conflicts"][0]["reason"]
    assert webhook_events(http, registry) == []
    assert http.get(f"{API}/projects/hooked/webhook/policies").json() == []


def test_a_replay_asked_at_the_source_replays_nothing_here(http, registry, oci):
    assert http.post(BATCHES, json=batch(shipped(a_project("hooked"), 1))).status_code == 200
    oci.push_image("hooked/app", "v1")  # a push here that a replay of this log would deliver
    policy = a_webhook_policy("hooked", 77)
    created = shipped(policy, 4)
    policy.replay(0, registry.app.head(), ALICE)  # positions of the source's log
    replay = shipped(policy, 5)
    for event in created + replay:
        event["project_id"] = 77
    answer = http.post(BATCHES, json={**batch(created + replay, after=3), "secrets": {"4": ["Bearer x"]}})
    assert answer.status_code == 200 and answer.json()["applied"] == 2, answer.text
    registry.catch_up_reads()
    jobs = http.get(f"{API}/projects/hooked/webhook/jobs",
                    params={"policy_id": http.get(f"{API}/projects/hooked/webhook/policies").json()[0]["id"]})
    assert jobs.status_code == 200 and jobs.json() == [], jobs.text


def test_a_group_membership_arrives_as_this_sides_group_of_that_identity(http):
    """A member group is named by the source's id; it travels with the group's type, name and
    DN, and the membership lands on this side's group of that identity (onboarded if new)."""
    project = a_project("grouped")
    project.add_group_member(42, "builders", 2, ALICE)  # 42: the group's id at the source
    project.change_group_role(42, 3, ALICE)
    events = shipped(project, 1)
    for event in events[3:]:
        event["group"] = [3, "builders", ""]
    answer = http.post(BATCHES, json=batch(events))
    assert answer.status_code == 200 and answer.json()["applied"] == 5, answer.text
    groups = http.get(f"{API}/usergroups", params={"group_name": "builders"}).json()
    assert [(g["group_name"], g["group_type"]) for g in groups] == [("builders", 3)]
    members = http.get(f"{API}/projects/grouped/members").json()
    group_rows = [m for m in members if m["entity_type"] == "g"]
    assert [(m["entity_id"], m["role_id"]) for m in group_rows] == [(groups[0]["id"], 3)]
    # The same events again are skipped: the group ids differ, the memberships do not.
    again = http.post(BATCHES, json=batch(events, source="http://b.test#policy-3")).json()
    assert (again["applied"], again["skipped"], again["conflicts"]) == (0, 5, [])
    unnamed = shipped(project, 6)  # nothing left to ship: a new membership without its group
    project.remove_group_member(42, ALICE)
    removal = shipped(project, 6)
    assert unnamed == [] and len(removal) == 1
    refused = http.post(BATCHES, json=batch(removal, after=5))
    assert refused.status_code == 400 and "group" in refused.text
