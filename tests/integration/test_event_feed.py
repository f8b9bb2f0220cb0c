import json

import pytest

from tests.integration.conftest import basic


@pytest.fixture
def backend():
    return "sqlite"


def test_feed_lists_cloudevents_in_log_order(http, oci):
    digest, _ = oci.push_image("library/app", "v1")
    events = http.get("/api/v2.0/events?limit=1000").json()
    positions = [e["position"] for e in events]
    assert positions == sorted(positions)
    pushed = [e for e in events if e["type"] == "io.tidemark.artifact.pushed.v1"]
    assert pushed[0]["data"]["digest"] == digest and pushed[0]["specversion"] == "1.0"
    assert pushed[0]["subject"] == "library/app" and pushed[0]["data"]["actor"] == "admin"
    tagged = [e for e in events if e["type"] == "io.tidemark.tag.created.v1"]
    assert tagged[0]["data"]["tag"] == "v1"


def test_feed_pages_resume_without_gaps_or_repeats(http, oci):
    for tag in ("a", "b", "c"):
        oci.push_image("library/app", tag)
    everything = http.get("/api/v2.0/events?limit=1000").json()
    seen, after = [], 0
    while True:
        page = http.get(f"/api/v2.0/events?after={after}&limit=2")
        batch = page.json()
        seen += batch
        if "link" not in page.headers:
            break
        after = int(page.headers["tidemark-position"])
    assert [e["id"] for e in seen] == [e["id"] for e in everything]


def test_feed_filters_by_type_and_project(http, oci):
    oci.push_image("library/app", "v1")
    only_tags = http.get("/api/v2.0/events?type=io.tidemark.tag.created.v1").json()
    assert only_tags and {e["type"] for e in only_tags} == {"io.tidemark.tag.created.v1"}
    assert http.get("/api/v2.0/events?project=nosuch").json() == []


def test_feed_hides_private_projects_and_system_events_from_others(http, oci):
    http.post("/api/v2.0/projects", json={"project_name": "private1", "metadata": {"public": "false"}})
    oci.push_blob("private1/app", b"x")
    http.post("/api/v2.0/users", json={"username": "dave", "password": "Dave-Passw0rd"})
    events = http.get("/api/v2.0/events?limit=1000",
                      headers={"authorization": basic("dave", "Dave-Passw0rd")}).json()
    assert events and all(e["project"] == "library" for e in events)


def test_feed_after_beyond_head_is_empty_and_bad_after_is_400(http):
    assert http.get("/api/v2.0/events?after=99999999").json() == []
    response = http.get("/api/v2.0/events?after=abc")
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "BAD_REQUEST"
