"""Details Harbor's clients trip on (issue 13, section 5): Locations, empty success bodies,
JSON errors for unknown API paths, no viewer page that loads a CDN, partial rule updates,
a semver-shaped version."""

import re

import pytest

from tests.integration.retention_flows import create_policy, execute, rule

API = "/api/v2.0"
ARTIFACTS = f"{API}/projects/library/repositories/app/artifacts"
RULES = f"{API}/projects/library/immutabletagrules"


@pytest.fixture
def backend():
    return "sqlite"


def test_a_created_tag_has_a_location_and_success_answers_have_empty_bodies(http, oci):
    digest, _ = oci.push_image("library/app", "v1")
    created = http.post(f"{ARTIFACTS}/{digest}/tags", json={"name": "v2"})
    assert created.status_code == 201
    assert created.headers["location"] == f"{ARTIFACTS}/{digest}/tags/v2"
    assert created.content == b""
    deleted = http.delete(f"{ARTIFACTS}/{digest}/tags/v2")
    assert (deleted.status_code, deleted.content) == (200, b"")
    assert "json" not in deleted.headers["content-type"]


def test_a_started_gc_run_is_named_by_its_location(http, registry):
    started = http.post(f"{API}/system/gc/schedule", json={"schedule": {"type": "Manual"}})
    assert started.status_code == 201
    location = started.headers["location"]
    assert re.fullmatch(rf"{API}/system/gc/\d+", location)
    shown = http.get(location)
    assert shown.status_code == 200
    assert shown.json()["id"] == int(location.rsplit("/", 1)[1])


@pytest.mark.parametrize("accept", ["application/json", "text/html", "*/*"])
@pytest.mark.parametrize("path", ["/nope", "/projects/library/nope", "/swagger", "/redoc"])
def test_an_unknown_api_path_is_harbors_json_404(http, path, accept):
    response = http.get(API + path, headers={"accept": accept})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["errors"][0]["code"] == "NOT_FOUND"


def test_the_openapi_schema_is_still_served(http):
    response = http.get(f"{API}/openapi.json")
    assert response.status_code == 200
    assert "/api/v2.0/projects" in response.json()["paths"]


def test_a_partial_rule_update_toggles_the_rule_and_keeps_the_rest(http):
    body = {"tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "rel-*"}],
            "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                                "pattern": "prod/**"}]}}
    rule_id = http.post(RULES, json=body).headers["location"].rsplit("/", 1)[1]
    assert http.put(f"{RULES}/{rule_id}", json={"disabled": True}).status_code == 200
    [shown] = http.get(RULES).json()
    assert shown["disabled"] is True
    assert shown["tag_selectors"][0]["pattern"] == "rel-*"
    assert shown["scope_selectors"]["repository"][0]["pattern"] == "prod/**"
    assert http.put(f"{RULES}/{rule_id}", json={"disabled": False}).status_code == 200
    assert http.get(RULES).json()[0]["disabled"] is False
    assert http.put(f"{RULES}/999", json={"disabled": True}).status_code == 404


def test_stopping_an_ended_retention_run_answers_200_and_records_nothing(http, oci, registry):
    oci.push_image("library/app", "v1")
    url = create_policy(http, rule("always"))
    execution = execute(http, registry, url, dry_run=True)
    head = registry.app.head()
    stop = http.patch(f"{url}/executions/{execution['id']}", json={"action": "stop"})
    assert stop.status_code == 200
    assert registry.app.head() == head


def test_the_harbor_version_is_semver_shaped_and_names_tidemark(http):
    version = http.get(f"{API}/systeminfo").json()["harbor_version"]
    assert re.fullmatch(r"v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?", version), version
    assert "tidemark" in version


def test_a_tag_restore_takes_a_position_as_a_number(http, oci, registry):
    first, _ = oci.push_image("library/app", "v1")
    position = registry.app.head()
    oci.push_image("library/app", "v1")
    restore = f"{API}/projects/library/repositories/app/tags/v1/restore"
    restored = http.post(restore, json={"at": position})
    assert restored.status_code == 200, restored.text
    assert restored.json()["digest"] == first
    for bad in (True, -1, 1.5):
        assert http.post(restore, json={"at": bad}).status_code == 400, bad
