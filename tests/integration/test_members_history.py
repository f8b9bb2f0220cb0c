"""A project's members at any past moment (`GET /projects/{p}/members?at=`): user and group
memberships, role changes and removals are events, so the list is answered as it was then
(issue 17, section 4); a moment before this incarnation of the project is a 404."""

import pytest

from tests.integration.conftest import basic

API = "/api/v2.0"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request):
    return request.param


def members(http, project: str, **params) -> list[tuple]:
    answer = http.get(f"{API}/projects/{project}/members", params={"page_size": 100, **params})
    assert answer.status_code == 200, answer.text
    return [(m["entity_type"], m["entity_name"], m["role_id"]) for m in answer.json()]


def test_members_are_answered_as_they_were_at_each_moment(http, registry):
    for name in ("ann", "ben"):
        assert http.post(f"{API}/users", json={"username": name, "password": f"{name.title()}-Passw0rd1",
                                               "email": f"{name}@example.com"}).status_code == 201
    assert http.post(f"{API}/projects", json={"project_name": "crew", "metadata": {"public": "false"}}).status_code == 201
    created = http.post(f"{API}/usergroups", json={"group_name": "ops", "group_type": 3})
    group_id = int(created.headers["location"].rsplit("/", 1)[1])
    assert http.post(f"{API}/projects/crew/members", json={"role_id": 3, "member_user": {"username": "ann"}}).status_code == 201
    first = registry.app.head()
    assert http.post(f"{API}/projects/crew/members", json={"role_id": 2, "member_group": {"id": group_id}}).status_code == 201
    ann = [m for m in http.get(f"{API}/projects/crew/members").json() if m["entity_name"] == "ann"][0]
    assert http.put(f"{API}/projects/crew/members/{ann['id']}", json={"role_id": 1}).status_code == 200
    second = registry.app.head()
    assert http.delete(f"{API}/projects/crew/members/{ann['id']}").status_code == 200
    assert http.post(f"{API}/projects/crew/members", json={"role_id": 4, "member_user": {"username": "ben"}}).status_code == 201
    now = members(http, "crew")
    assert members(http, "crew", at=first) == [("u", "admin", 1), ("u", "ann", 3)]
    assert members(http, "crew", at=second) == [("u", "admin", 1), ("u", "ann", 1), ("g", "ops", 2)]
    assert members(http, "crew", at=registry.app.head()) == now == [("u", "admin", 1), ("g", "ops", 2), ("u", "ben", 4)]
    # The id of a membership stays across its role change, as the live list shows it.
    then = http.get(f"{API}/projects/crew/members", params={"at": second}).json()
    assert [m["id"] for m in then if m["entity_name"] == "ann"] == [ann["id"]]
    assert members(http, "crew", at=second, entityname="op") == [("g", "ops", 2)]
    # A project made again under the name starts with none of the old members; its members see
    # no past before it (system administrators read the deleted one's history, as everywhere).
    assert http.delete(f"{API}/projects/crew").status_code == 200
    ben = {"authorization": basic("ben", "Ben-Passw0rd1")}
    assert http.post(f"{API}/projects", headers=ben, json={"project_name": "crew", "metadata": {"public": "false"}}
                     ).status_code == 201
    assert members(http, "crew", at=registry.app.head()) == [("u", "ben", 1)]
    assert http.get(f"{API}/projects/crew/members", params={"at": second}, headers=ben).status_code == 404
    assert members(http, "crew", at=second) == [("u", "admin", 1), ("u", "ann", 1), ("g", "ops", 2)]
    assert http.get(f"{API}/projects/crew/members", params={"at": "yesterday-ish"}).status_code == 400
