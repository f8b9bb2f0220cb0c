"""A project deleted and created again under its name is a new project: nothing of the old one
is readable, pullable or undeletable through the new one; only system administrators read the
deleted project's history. And history is shown as it was visible at that moment."""

import pytest

from tests.integration.conftest import basic
from tests.integration.webhook_receivers import wait_until

API = "/api/v2.0"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request):
    return request.param


def _user(http, name: str) -> dict:
    secret = f"{name.capitalize()}-Passw0rd1"
    response = http.post(f"{API}/users", json={"username": name, "password": secret,
                                              "email": f"{name}@example.com"})
    assert response.status_code == 201, response.text
    return {"authorization": basic(name, secret)}


def _project(http, name: str, headers: dict, public: bool = False) -> int:
    response = http.post(f"{API}/projects", headers=headers,
                         json={"project_name": name, "metadata": {"public": str(public).lower()}})
    assert response.status_code == 201, response.text
    return http.get(f"{API}/projects/{name}").json()["project_id"]


@pytest.fixture
def recreated(http, oci, registry):
    """`iso` as alice made it (an image, a deleted artifact, an immutable rule, a label, a
    robot), deleted, then made again by bob; what the old one held, for the checks."""
    alice, bob = _user(http, "alice"), _user(http, "bob")
    old_id = _project(http, "iso", alice)
    hook = {"name": "hook", "event_types": ["PUSH_ARTIFACT"],
            "targets": [{"type": "slack", "address": "http://127.0.0.1:9/services/SECRET"}]}
    assert http.post(f"{API}/projects/iso/webhook/policies", json=hook).status_code == 201
    manifest = oci.image_manifest("iso/app")
    digest, _ = oci.push_manifest("iso/app", "v1", manifest)
    gone, _ = oci.push_image("iso/app", "old")
    assert http.delete(f"{API}/projects/iso/repositories/app/artifacts/{gone}").status_code == 200
    rule = {"tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "v*"}],
            "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                                "pattern": "**"}]}}
    assert http.post(f"{API}/labels", json={"name": "old-label", "scope": "p", "project_id": old_id}
                     ).status_code == 201
    robot = http.post(f"{API}/robots", json={"name": "ci", "level": "project", "permissions": [
        {"kind": "project", "namespace": "iso", "access": [{"resource": "repository", "action": "pull"}]}]}).json()
    policy_id = http.get(f"{API}/projects/iso/webhook/policies").json()[0]["id"]
    fingerprint = _trusted_key(http)
    job_id = wait_until(lambda: (http.get(f"{API}/projects/iso/webhook/jobs",
                                          params={"policy_id": policy_id}).json() or [None])[0], 15)["id"]
    old_position = registry.app.head()
    assert http.delete(f"{API}/projects/iso/repositories/app").status_code == 200
    assert http.post(f"{API}/projects/iso/immutabletagrules", json=rule).status_code == 201  # dies with it
    assert http.delete(f"{API}/projects/iso").status_code == 200
    new_id = _project(http, "iso", bob)
    return {"alice": alice, "bob": bob, "digest": digest, "gone": gone, "old_position": old_position,
            "new_id": new_id, "robot": robot, "manifest": manifest, "job_id": job_id,
            "fingerprint": fingerprint}


def _trusted_key(http) -> str:
    from tests.integration.signing import ecdsa_key, public_pem

    response = http.post(f"{API}/projects/iso/trusted-keys", json={"name": "old", "public_key": public_pem(ecdsa_key())})
    assert response.status_code == 201, response.text
    return response.json()["fingerprint"]


def test_the_new_project_trusts_none_of_the_old_ones_keys(http, recreated):
    bob, fingerprint = recreated["bob"], recreated["fingerprint"]
    assert http.get(f"{API}/projects/iso/trusted-keys", headers=bob).json() == []
    assert http.get(f"{API}/projects/iso/trusted-keys/{fingerprint}", headers=bob).status_code == 404
    assert http.delete(f"{API}/projects/iso/trusted-keys/{fingerprint}", headers=bob).status_code == 404


def test_the_new_owner_reads_nothing_of_the_deleted_project(http, recreated):
    bob, old = recreated["bob"], recreated["old_position"]
    logs = http.get(f"{API}/projects/iso/logs", headers=bob, params={"page_size": 100}).json()
    assert logs and all(entry["id"] // 100000 >= recreated["new_id"] for entry in logs)
    changes = http.get(f"{API}/projects/iso/changes", headers=bob).json()
    assert all(event["position"] >= recreated["new_id"] for event in changes)
    feed = http.get(f"{API}/events", headers=bob, params={"project": "iso", "limit": 1000}).json()
    assert feed and all(event["position"] >= recreated["new_id"] for event in feed)
    assert http.get(f"{API}/projects/iso/repositories", headers=bob, params={"at": old}).status_code == 404
    assert http.get(f"{API}/projects/iso/repositories/app/tags/v1/history", headers=bob).status_code == 404
    assert http.get(f"{API}/labels", headers=bob, params={"scope": "p", "project_id": recreated["new_id"]}
                    ).json() == []
    assert http.get(f"{API}/projects/iso/immutabletagrules", headers=bob).json() == []
    job = http.get(f"{API}/projects/iso/webhook/jobs/{recreated['job_id']}", headers=bob)
    assert job.status_code == 404 and "SECRET" not in job.text


def test_nothing_of_the_deleted_project_pulls_or_comes_back(http, recreated):
    bob = recreated["bob"]
    for descriptor in [recreated["manifest"]["config"], *recreated["manifest"]["layers"]]:
        assert http.get(f"/v2/iso/app/blobs/{descriptor['digest']}").status_code == 404
    assert http.get(f"/v2/iso/app/manifests/{recreated['digest']}").status_code == 404
    assert http.get("/v2/iso/app/manifests/v1", headers={"tidemark-as-of": str(recreated["old_position"])}
                    ).status_code in (401, 404)
    for digest in (recreated["gone"], recreated["digest"]):
        response = http.post(f"{API}/projects/iso/repositories/app/artifacts/{digest}/undelete", headers=bob)
        assert response.status_code == 404, response.text
    robot = recreated["robot"]
    assert http.get(f"{API}/projects/iso", headers={"authorization": basic(robot["name"], robot["secret"])}
                    ).status_code == 401


def test_the_new_project_starts_with_no_rules_usage_or_links(http, oci, recreated):
    manifest = recreated["manifest"]
    # the old image's blobs are not linked here (the old links are not this project's) ...
    for descriptor in [manifest["config"], *manifest["layers"]]:
        assert http.head(f"/v2/iso/app/blobs/{descriptor['digest']}").status_code == 404
    quota = http.get(f"{API}/quotas/{recreated['new_id']}").json()
    assert quota["used"]["storage"] == 0
    # ... pushed again, they are counted in the new quota, and the old immutable rule on v*
    # protects nothing here: v1 moves
    first, body = oci.push_manifest("iso/app", "v1", oci.image_manifest("iso/app"))
    second, _ = oci.push_image("iso/app", "v1")
    assert first != second
    assert http.get(f"{API}/quotas/{recreated['new_id']}").json()["used"]["storage"] > len(body)


def test_a_system_administrator_still_reads_the_deleted_projects_history(http, recreated):
    response = http.get(f"{API}/projects/iso/repositories", params={"at": recreated["old_position"]})
    assert response.status_code == 200 and [r["name"] for r in response.json()] == ["iso/app"]
    history = http.get(f"{API}/projects/iso/repositories/app/tags/v1/history").json()
    assert history[0]["digest"] == recreated["digest"]


def test_views_rebuilt_after_a_deletion_equal_the_live_ones(registry, recreated):
    from projections.projector import checksum
    from projections.rebuild import rebuild

    registry.catch_up()
    for projector in registry.projectors:
        view = projector.view
        if projector.name in ("oci", "label", "policy", "iam", "retention", "project_periods",
                              "project_settings", "trusted_keys"):
            live = checksum(registry.db, view.p, view.tables)
            assert rebuild(registry.app, registry.db, type(view), projector) == live, projector.name


def test_history_shows_a_public_project_only_as_it_was_public(http, oci, registry):
    outsider = _user(http, "outsider")
    _project(http, "flip", {"authorization": http.headers["authorization"]})
    hidden, _ = oci.push_image("flip/app", "v1")
    seen_at_opening, _ = oci.push_image("flip/app", "v1")
    private_moment = registry.app.head()
    assert http.put(f"{API}/projects/flip", json={"metadata": {"public": "true"}}).status_code == 200
    public_digest, _ = oci.push_image("flip/app", "v1")
    public_moment = registry.app.head()
    history = "/api/v2.0/projects/flip/repositories/app/tags/v1/history"
    for who in ({"authorization": ""}, outsider):  # they see it only because it is public now
        assert http.get(f"{API}/projects/flip/repositories", headers=who,
                        params={"at": private_moment}).status_code == 404
        assert http.get(f"{API}/projects/flip/repositories", headers=who,
                        params={"at": public_moment}).status_code == 200
        # what v1 named from the moment it turned public on; not what it named only while private
        assert [e["digest"] for e in http.get(history, headers=who).json()] == [seen_at_opening, public_digest]
    feed = http.get(f"{API}/events", headers=outsider, params={"project": "flip", "limit": 1000}).json()
    assert feed and all(event["position"] > private_moment for event in feed)
    # the administrator (a member would too) sees the private period
    assert [e["digest"] for e in http.get(history).json()] == [hidden, seen_at_opening, public_digest]
    assert http.get(f"{API}/projects/flip/repositories", params={"at": private_moment}).status_code == 200
