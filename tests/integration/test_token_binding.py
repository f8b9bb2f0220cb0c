"""A registry token holds for the account and the projects it was issued for, not for ones made
again later under the same names (issue 17 §6; Harbor 2.15 fixed the same hole): a token of a
member of a deleted project pushes nothing into the project created again under its name, and
a robot's token dies with the robot, whatever takes its name afterwards."""

import pytest

from tests.integration.conftest import basic

API = "/api/v2.0"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request):
    return request.param


def token(http, scope: str, auth: str) -> str:
    answer = http.get("/service/token", params={"service": "tidemark", "scope": scope},
                      headers={"authorization": auth})
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def bearer(value: str) -> dict:
    return {"authorization": f"Bearer {value}"}


def test_a_members_token_opens_nothing_in_the_project_made_again_under_its_name(http, oci, registry):
    assert http.post(f"{API}/users", json={"username": "uma", "password": "Uma-Passw0rd-1",
                                           "email": "uma@example.com"}).status_code == 201
    assert http.post(f"{API}/projects", json={"project_name": "pp", "metadata": {"public": "false"}}).status_code == 201
    assert http.post(f"{API}/projects/pp/members", json={"role_id": 2, "member_user": {"username": "uma"}}
                     ).status_code == 201
    old = token(http, "repository:pp/app:pull,push", basic("uma", "Uma-Passw0rd-1"))
    assert http.post("/v2/pp/app/blobs/uploads/", headers=bearer(old)).status_code == 202  # good while it lasts
    assert http.delete(f"{API}/projects/pp").status_code == 200
    assert http.post(f"{API}/projects", json={"project_name": "pp", "metadata": {"public": "false"}}).status_code == 201
    digest, _ = oci.push_image("pp/app", "v1")  # the new owner's image
    head = registry.app.head()
    push = http.post("/v2/pp/app/blobs/uploads/", headers=bearer(old))
    assert push.status_code == 401 and 'error="insufficient_scope"' in push.headers["www-authenticate"]
    assert http.get(f"/v2/pp/app/manifests/{digest}", headers=bearer(old)).status_code == 401
    # Asking again gives what uma holds now: nothing in the new project.
    again = token(http, "repository:pp/app:pull,push", basic("uma", "Uma-Passw0rd-1"))
    assert http.get(f"/v2/pp/app/manifests/{digest}", headers=bearer(again)).status_code == 401
    assert registry.app.head() == head  # refused: nothing recorded


def test_a_robots_token_dies_with_it_whatever_takes_its_name(http):
    assert http.post(f"{API}/projects", json={"project_name": "rr", "metadata": {"public": "false"}}).status_code == 201
    access = {"name": "ci", "level": "project", "duration": -1, "permissions": [
        {"kind": "project", "namespace": "rr", "access": [{"resource": "repository", "action": "pull"},
                                                          {"resource": "repository", "action": "push"}]}]}
    first = http.post(f"{API}/robots", json=access).json()
    old = token(http, "repository:rr/app:pull,push", basic(first["name"], first["secret"]))
    assert http.post("/v2/rr/app/blobs/uploads/", headers=bearer(old)).status_code == 202
    assert http.delete(f"{API}/robots/{first['id']}").status_code == 200
    second = http.post(f"{API}/robots", json=access)
    assert second.status_code == 201 and second.json()["name"] == first["name"]
    refused = http.post("/v2/rr/app/blobs/uploads/", headers=bearer(old))
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["www-authenticate"]
    fresh = token(http, "repository:rr/app:pull,push", basic(second.json()["name"], second.json()["secret"]))
    assert http.post("/v2/rr/app/blobs/uploads/", headers=bearer(fresh)).status_code == 202
