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
