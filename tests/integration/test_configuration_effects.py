"""The configuration keys Tidemark acts on take effect at once: read-only mode, who may create
projects, self-registration, the registry token lifetime, the default project quota, the
robot name prefix; also in a second app on the same database."""

import os
import time

import pytest
from litestar.testing import TestClient

from infra.wiring.app import create_app
from infra.wiring.registry import build_registry
from tests.integration.conftest import ADMIN_PASSWORD, basic
from tests.integration.iam_helpers import (
    API, anonymous, as_user, create_project, create_user, jwt_part, password_of, robot_body, token_for,
)
from tests.integration.oci_client import sha256

CONFIG = f"{API}/configurations"
READ_ONLY = {"errors": [{"code": "DENIED",
                         "message": "The system is in read only mode. Any modification is prohibited."}]}


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def put(http, **values) -> None:
    response = http.put(CONFIG, json=values)
    assert response.status_code == 200, response.text


def test_read_only_refuses_pushes_and_deletes_and_still_serves_reads(http, oci):
    digest, _ = oci.push_image("library/app", "v1")
    put(http, read_only=True)
    refused = http.post("/v2/library/app/blobs/uploads/")
    assert refused.status_code == 403 and refused.json() == READ_ONLY
    assert http.put("/v2/library/app/manifests/v2", content=b"{}",
                    headers={"content-type": "application/vnd.oci.image.manifest.v1+json"}).status_code == 403
    assert http.delete(f"/v2/library/app/manifests/{digest}").status_code == 403
    deleted = http.delete(f"{API}/projects/library/repositories/app/artifacts/v1")
    assert deleted.status_code == 403 and deleted.json() == READ_ONLY
    assert http.post(f"{API}/projects", json={"project_name": "newone"}).status_code == 403
    # reads still work, and the configuration PUT itself
    assert http.get("/v2/library/app/manifests/v1").status_code == 200
    assert http.get(f"{API}/projects/library/repositories/app/artifacts/v1").status_code == 200
    put(http, read_only=False)
    assert http.delete(f"{API}/projects/library/repositories/app/artifacts/v1").status_code == 200
    oci.push_image("library/app", "v2")


def test_adminonly_refuses_project_creation_to_everyone_but_administrators(http):
    create_user(http, "nora")
    put(http, project_creation_restriction="adminonly")
    refused = http.post(f"{API}/projects", json={"project_name": "noras"}, headers=as_user("nora"))
    assert refused.status_code == 403
    assert http.get(f"{API}/projects/noras").status_code == 404
    create_project(http, "admins")
    put(http, project_creation_restriction="everyone")
    create_project(http, "noras", headers=as_user("nora"))


def test_self_registration_lets_anyone_sign_up_as_a_plain_user_while_it_is_on(http):
    body = {"username": "sam", "password": password_of("sam"), "email": "sam@example.com"}
    assert anonymous(http, "POST", f"{API}/users", json=body).status_code == 401
    put(http, self_registration=True)
    signed_up = anonymous(http, "POST", f"{API}/users", json={**body, "sysadmin_flag": True})
    assert signed_up.status_code == 201, signed_up.text
    me = http.get(f"{API}/users/current", headers=as_user("sam")).json()
    assert me["username"] == "sam" and me["sysadmin_flag"] is False
    create_user(http, "tess")  # signed-in users who are not administrators still may not
    other = {"username": "ugo", "password": password_of("ugo"), "email": "ugo@example.com"}
    assert http.post(f"{API}/users", json=other, headers=as_user("tess")).status_code == 403
    put(http, self_registration=False)
    assert anonymous(http, "POST", f"{API}/users", json=other).status_code == 401


def test_token_expiration_sets_the_lifetime_of_registry_tokens(http):
    put(http, token_expiration=5)
    issued = token_for(http, "repository:library/app:pull").json()
    claims = jwt_part(issued["token"], 1)
    assert claims["exp"] - claims["iat"] == 300 and issued["expires_in"] == 300


def test_storage_per_project_is_the_quota_of_new_projects(http, oci):
    create_project(http, "before")
    put(http, storage_per_project=1000)
    create_project(http, "after")
    quotas = {q["ref"]["name"]: q["hard"]["storage"] for q in http.get(f"{API}/quotas").json()}
    assert quotas["before"] == -1 and quotas["after"] == 1000
    assert http.post(f"{API}/projects", json={"project_name": "given", "storage_limit": 5000}).status_code == 201
    quotas = {q["ref"]["name"]: q["hard"]["storage"] for q in http.get(f"{API}/quotas").json()}
    assert quotas["given"] == 5000
    big = os.urandom(2000)
    refused = http.post(f"/v2/after/app/blobs/uploads/?digest={sha256(big)}", content=big)
    assert refused.status_code == 403 and "quota" in refused.json()["errors"][0]["message"]


def test_a_second_app_on_the_same_database_sees_a_change_at_once(http, registry, settings, backend):
    if backend != "postgres":
        pytest.skip("the embedded default serves requests from one process (the data directory lock)")
    second = build_registry(settings)
    try:
        with TestClient(create_app(settings, second), base_url="http://registry.test") as other:
            other.headers["authorization"] = basic("admin", ADMIN_PASSWORD)
            assert other.get(CONFIG).json()["read_only"]["value"] is False
            put(http, read_only=True, token_expiration=7)
            assert other.get(CONFIG).json()["read_only"]["value"] is True
            assert other.post("/v2/library/app/blobs/uploads/").status_code == 403
            claims = jwt_part(token_for(other, "repository:library/app:pull").json()["token"], 1)
            assert claims["exp"] - claims["iat"] == 420
            put(other, read_only=False)
            assert http.post("/v2/library/app/blobs/uploads/").status_code == 202
    finally:
        second.close()


def _robot(http, project: str, name: str) -> dict:
    response = http.post(f"{API}/robots", json=robot_body(project, name))
    assert response.status_code == 201, response.text
    return response.json()


def test_robot_name_prefix_names_new_robots_and_every_robot_keeps_signing_in(http, oci):
    create_project(http, "team")
    oci.push_image("team/app", "v1")
    old = _robot(http, "team", "early")
    put(http, robot_name_prefix="ci$")
    new = _robot(http, "team", "build")
    system = http.post(f"{API}/robots", json={**robot_body("team", "sys"), "level": "system"})
    assert old["name"] == "robot$team+early" and new["name"] == "ci$team+build"
    assert system.json()["name"] == "ci$sys"
    for robot in (old, new):
        token = token_for(http, "repository:team/app:pull", headers={"authorization": basic(
            robot["name"], robot["secret"])}).json()["token"]
        assert jwt_part(token, 1)["access"][0]["actions"] == ["pull"]
    project_id = http.get(f"{API}/projects/team").json()["project_id"]
    listed = http.get(f"{API}/robots", params={"q": f"ProjectID={project_id}"}).json()
    assert sorted(r["name"] for r in listed) == ["ci$team+build", "robot$team+early"]
    # a project administrator manages the new robot as any project robot
    create_user(http, "pat")
    http.post(f"{API}/projects/team/members", json={"role_id": 1, "member_user": {"username": "pat"}})
    shown = http.get(f"{API}/robots/{new['id']}", headers=as_user("pat"))
    assert shown.status_code == 200 and shown.json()["name"] == "ci$team+build"


def test_a_robot_made_with_duration_0_lasts_robot_token_duration_days(http):
    create_project(http, "crew")
    put(http, robot_token_duration=3)
    made = http.post(f"{API}/robots", json={**robot_body("crew", "short"), "duration": 0}).json()
    shown = http.get(f"{API}/robots/{made['id']}").json()
    assert shown["duration"] == 3
    assert abs(shown["expires_at"] - made["expires_at"]) < 2
    assert abs(made["expires_at"] - (time.time() + 3 * 86400)) < 120


def test_read_only_cannot_be_sidestepped_by_spelling_the_path_otherwise(http, oci):
    oci.push_image("library/app", "v1")
    put(http, read_only=True)
    for path in ("//v2/library/app/blobs/uploads/", "/v2//library/app/blobs/uploads/",
                 "/api/v2.0//projects/library/repositories/app"):
        method = "DELETE" if "repositories" in path else "POST"
        assert http.request(method, path).status_code == 403, path
    assert http.get("/v2/library/app/tags/list").json()["tags"] == ["v1"]


def test_audit_forwarding_follows_the_configured_endpoint(http, oci, registry, backend):
    if backend != "sqlite":
        pytest.skip("forwarding itself is tested in test_audit_forward.py; here only where it reads")
    from tests.integration.test_audit_forward import SyslogReceiver
    from tests.integration.webhook_receivers import wait_until

    receiver = SyslogReceiver("tcp").start()
    try:
        registry.audit_forwarder.backoff_initial = 0.05
        put(http, audit_log_forward_endpoint=receiver.endpoint,
            disabled_audit_log_event_types="create_artifact")
        oci.push_image("library/app", "v1")
        wait_until(lambda: "library/app:v1" in receiver.resources("create_tag"))
        wait_until(lambda: registry.audit_forwarder.lag() == 0)
        assert receiver.resources("create_artifact") == []
    finally:
        receiver.stop()
