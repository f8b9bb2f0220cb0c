"""Repositories, artifacts and tags as of past moments; tag history, restore, undelete."""

import time
from datetime import datetime, timedelta, timezone

import pytest

BASE = "/api/v2.0/projects/library/repositories"


@pytest.fixture
def backend():
    return "sqlite"


def head(registry) -> int:
    return registry.app.head()


def test_artifact_list_at_a_past_position_shows_what_was_there(http, oci, registry):
    first, _ = oci.push_image("library/app", "v1")
    before_second = head(registry)
    second, _ = oci.push_image("library/app", "v2")
    now = http.get(f"{BASE}/app/artifacts").json()
    assert {a["digest"] for a in now} == {first, second}
    past = http.get(f"{BASE}/app/artifacts?at={before_second}").json()
    assert [a["digest"] for a in past] == [first]
    assert [t["name"] for t in past[0]["tags"]] == ["v1"]


def test_moved_tag_shows_old_digest_at_an_earlier_time(http, oci):
    first, _ = oci.push_image("library/app", "latest")
    time.sleep(0.01)
    moment = datetime.now(timezone.utc).isoformat()
    time.sleep(0.01)
    oci.push_image("library/app", "latest")
    then = http.get(f"{BASE}/app/artifacts/latest", params={"at": moment})
    assert then.status_code == 200 and then.json()["digest"] == first


def test_deleted_artifact_appears_in_the_past_and_can_be_undeleted(http, oci, registry):
    digest, body = oci.push_image("library/app", "v1")
    before = head(registry)
    assert http.delete(f"{BASE}/app/artifacts/{digest}").status_code == 200
    assert http.get(f"{BASE}/app/artifacts/{digest}").status_code == 404
    assert http.get(f"{BASE}/app/artifacts/{digest}?at={before}").json()["digest"] == digest
    assert http.post(f"{BASE}/app/artifacts/{digest}/undelete").status_code == 200
    assert http.get(f"/v2/library/app/manifests/{digest}").content == body


def test_tag_history_lists_every_digest_with_who_and_when(http, oci):
    digests = [oci.push_image("library/app", "latest")[0] for _ in range(3)]
    history = http.get(f"{BASE}/app/tags/latest/history").json()
    assert [h["digest"] for h in history] == digests
    assert history[0]["to_position"] == history[1]["from_position"]
    assert history[-1]["to_time"] is None and history[0]["moved_by"] == "admin"


def test_restore_points_tag_back_and_records_a_new_event(http, oci, registry):
    first, _ = oci.push_image("library/app", "latest")
    moment = head(registry)
    oci.push_image("library/app", "latest")
    before = head(registry)
    response = http.post(f"{BASE}/app/tags/latest/restore", json={"at": str(moment)})
    assert response.status_code == 200 and response.json()["digest"] == first
    assert head(registry) == before + 1
    assert http.get("/v2/library/app/manifests/latest").headers["docker-content-digest"] == first


def test_restore_is_refused_when_the_blobs_are_gone(http, oci, registry):
    first, _ = oci.push_image("library/app", "latest")
    moment = head(registry)
    oci.push_image("library/app", "latest")
    manifest = http.get(f"/v2/library/app/manifests/{first}").json()
    registry.blobs.delete(manifest["layers"][0]["digest"])  # as garbage collection would
    response = http.post(f"{BASE}/app/tags/latest/restore", json={"at": str(moment)})
    assert response.status_code == 409 and "garbage-collected" in response.json()["errors"][0]["message"]


def test_manifest_get_as_of_a_time(http, oci):
    first, _ = oci.push_image("library/app", "latest")
    time.sleep(0.01)
    moment = datetime.now(timezone.utc).isoformat()
    oci.push_image("library/app", "latest")
    response = http.get("/v2/library/app/manifests/latest", headers={"tidemark-as-of": moment})
    assert response.headers["docker-content-digest"] == first


@pytest.mark.parametrize("at", ["yesterday", "2026-01-01T00:00:00", "99999999",
                                (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()],
                         ids=["word", "naive", "position", "tomorrow"])
def test_bad_at_values_are_400(http, oci, at):
    oci.push_image("library/app", "v1")
    response = http.get(f"{BASE}/app/artifacts", params={"at": at})
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "BAD_REQUEST"


def test_at_before_the_first_event_is_the_empty_registry(http, oci):
    oci.push_image("library/app", "v1")
    response = http.get(f"{BASE}/app/artifacts", params={"at": "2000-01-01T00:00:00Z"})
    assert response.status_code == 200 and response.json() == []


def test_repository_delete_removes_all_artifacts(http, oci):
    oci.push_image("library/app", "v1")
    oci.push_image("library/app", "v2")
    assert http.delete(f"{BASE}/app").status_code == 200
    assert http.get(f"{BASE}/app/artifacts").json() == []
    assert http.get("/v2/library/app/tags/list").json()["tags"] == []


def test_add_and_delete_tag_through_the_api(http, oci):
    digest, _ = oci.push_image("library/app", "v1")
    assert http.post(f"{BASE}/app/artifacts/{digest}/tags", json={"name": "stable"}).status_code == 201
    assert http.get("/v2/library/app/manifests/stable").headers["docker-content-digest"] == digest
    assert http.post(f"{BASE}/app/artifacts/{digest}/tags", json={"name": "stable"}).status_code == 409
    assert http.delete(f"{BASE}/app/artifacts/{digest}/tags/stable").status_code == 200
    assert http.get("/v2/library/app/manifests/stable").status_code == 404


def test_nested_repository_names_are_double_encoded(http, oci):
    oci.push_image("library/team/app", "v1")
    listed = http.get(f"{BASE}/team%252Fapp/artifacts")
    assert listed.status_code == 200 and len(listed.json()) == 1
