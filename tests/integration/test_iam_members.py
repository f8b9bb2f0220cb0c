"""Project members through the Harbor v2.0 REST API: adding them by name or id, changing
their roles, removing them, and who may do so."""

import pytest

from tests.integration.iam_helpers import API, IamTests, add_member, as_user, create_project, create_user, errors


@pytest.fixture
def backend():
    return "sqlite"


class TestMembers(IamTests):
    @pytest.fixture
    def alpha(self, http):
        """Private project `alpha` administered by alice; bob and carol exist."""
        ids = {name: create_user(http, name) for name in ("alice", "bob", "carol")}
        create_project(http, "alpha", headers=as_user("alice"))
        return ids

    def test_add_member_by_username_as_developer(self, http, alpha):
        # when
        response = http.post(f"{API}/projects/alpha/members", headers=as_user("alice"),
                             json={"role_id": 2, "member_user": {"username": "bob"}})
        # then
        assert response.status_code == 201
        location = response.headers["location"]
        project_id = http.get(f"{API}/projects/alpha").json()["project_id"]
        assert location.startswith(f"{API}/projects/{project_id}/members/")
        member = http.get(location, headers=as_user("alice"))
        assert member.status_code == 200
        assert member.json() == {"id": int(location.rsplit("/", 1)[1]), "project_id": project_id,
                                 "entity_name": "bob", "role_name": "developer", "role_id": 2,
                                 "entity_id": alpha["bob"], "entity_type": "u"}
        assert http.get(f"{API}/projects/alpha", headers=as_user("bob")).json()["current_user_role_id"] == 2

    def test_add_member_by_user_id(self, http, alpha):
        response = http.post(f"{API}/projects/alpha/members", headers=as_user("alice"),
                             json={"role_id": 2, "member_user": {"user_id": alpha["carol"]}})
        assert response.status_code == 201
        members = http.get(f"{API}/projects/alpha/members", headers=as_user("alice")).json()
        assert {(m["entity_name"], m["entity_id"], m["role_id"]) for m in members} == \
            {("alice", alpha["alice"], 1), ("carol", alpha["carol"], 2)}

    def test_change_a_members_role(self, http, alpha):
        # given
        mid = add_member(http, "alpha", "bob", 2, headers=as_user("alice"))
        # when
        response = http.put(f"{API}/projects/alpha/members/{mid}", headers=as_user("alice"),
                            json={"role_id": 3})
        # then
        assert response.status_code == 200
        member = http.get(f"{API}/projects/alpha/members/{mid}", headers=as_user("alice")).json()
        assert (member["role_id"], member["role_name"]) == (3, "guest")
        assert http.get(f"{API}/projects/alpha", headers=as_user("bob")).json()["current_user_role_id"] == 3

    def test_remove_a_member(self, http, alpha):
        # given
        mid = add_member(http, "alpha", "bob", 2, headers=as_user("alice"))
        assert http.get(f"{API}/projects/alpha", headers=as_user("bob")).status_code == 200
        # when
        response = http.delete(f"{API}/projects/alpha/members/{mid}", headers=as_user("alice"))
        # then
        assert response.status_code == 200
        assert http.get(f"{API}/projects/alpha/members/{mid}", headers=as_user("alice")).status_code == 404
        assert http.get(f"{API}/projects/alpha", headers=as_user("bob")).status_code == 403

    @pytest.mark.parametrize("role_id", [0, 6, -1])
    def test_invalid_role_is_refused(self, http, alpha, role_id):
        response = http.post(f"{API}/projects/alpha/members", headers=as_user("alice"),
                             json={"role_id": role_id, "member_user": {"username": "bob"}})
        assert response.status_code == 400
        assert errors(response) == ["BAD_REQUEST"]
        members = http.get(f"{API}/projects/alpha/members", headers=as_user("alice")).json()
        assert [m["entity_name"] for m in members] == ["alice"]

    def test_changing_to_an_invalid_role_is_refused(self, http, alpha):
        mid = add_member(http, "alpha", "bob", 2, headers=as_user("alice"))
        response = http.put(f"{API}/projects/alpha/members/{mid}", headers=as_user("alice"),
                            json={"role_id": 9})
        assert response.status_code == 400
        assert http.get(f"{API}/projects/alpha/members/{mid}", headers=as_user("alice")).json()["role_id"] == 2

    @pytest.mark.parametrize("member_user", [{"username": "nobody"}, {"user_id": 999999}])
    def test_adding_an_unknown_user_is_not_found(self, http, alpha, member_user):
        response = http.post(f"{API}/projects/alpha/members", headers=as_user("alice"),
                             json={"role_id": 2, "member_user": member_user})
        assert response.status_code == 404
        assert errors(response) == ["NOT_FOUND"]

    def test_adding_an_existing_member_conflicts(self, http, alpha):
        add_member(http, "alpha", "bob", 2, headers=as_user("alice"))
        response = http.post(f"{API}/projects/alpha/members", headers=as_user("alice"),
                             json={"role_id": 3, "member_user": {"username": "bob"}})
        assert response.status_code == 409

    def test_a_guest_cannot_add_members(self, http, alpha):
        # given
        add_member(http, "alpha", "bob", 3, headers=as_user("alice"))
        # when
        response = http.post(f"{API}/projects/alpha/members", headers=as_user("bob"),
                             json={"role_id": 2, "member_user": {"username": "carol"}})
        # then
        assert response.status_code == 403
        assert errors(response) == ["FORBIDDEN"]
        assert http.get(f"{API}/projects/alpha", headers=as_user("carol")).status_code == 403

    def test_a_guest_sees_the_member_list(self, http, alpha):
        add_member(http, "alpha", "bob", 3, headers=as_user("alice"))
        response = http.get(f"{API}/projects/alpha/members", headers=as_user("bob"))
        assert response.status_code == 200
        assert {m["entity_name"] for m in response.json()} == {"alice", "bob"}

    def test_a_non_member_cannot_see_the_members_of_a_private_project(self, http, alpha):
        response = http.get(f"{API}/projects/alpha/members", headers=as_user("carol"))
        assert response.status_code == 403
