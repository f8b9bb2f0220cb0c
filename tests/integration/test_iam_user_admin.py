"""What an administrator does to a user account through the Harbor v2.0 REST API:
granting sysadmin, disabling and enabling it, deleting it."""

import pytest

from tests.integration.iam_helpers import API, IamTests, as_user, create_user, errors


@pytest.fixture
def backend():
    return "sqlite"


class TestUserAdministration(IamTests):
    def test_granted_sysadmin_may_list_users(self, http):
        # given: alice is refused before
        user_id = create_user(http, "alice")
        assert http.get(f"{API}/users", headers=as_user("alice")).status_code == 403
        # when
        response = http.put(f"{API}/users/{user_id}/sysadmin", json={"sysadmin_flag": True})
        # then
        assert response.status_code == 200
        listed = http.get(f"{API}/users", headers=as_user("alice"))
        assert listed.status_code == 200
        assert {u["username"] for u in listed.json()} == {"admin", "alice"}
        assert http.get(f"{API}/users/{user_id}").json()["sysadmin_flag"] is True

    def test_a_plain_user_cannot_grant_sysadmin(self, http):
        user_id = create_user(http, "alice")
        response = http.put(f"{API}/users/{user_id}/sysadmin", headers=as_user("alice"),
                            json={"sysadmin_flag": True})
        assert response.status_code == 403
        assert http.get(f"{API}/users/{user_id}").json()["sysadmin_flag"] is False

    def test_disabled_user_is_refused_at_once(self, http):
        # given: alice signed in a moment ago
        user_id = create_user(http, "alice")
        assert http.get(f"{API}/users/current", headers=as_user("alice")).status_code == 200
        # when
        response = http.put(f"{API}/users/{user_id}/enabled", json={"enabled": False})
        # then
        assert response.status_code == 200
        refused = http.get(f"{API}/users/current", headers=as_user("alice"))
        assert refused.status_code == 401
        assert errors(refused) == ["UNAUTHORIZED"]
        assert http.get("/v2/", headers=as_user("alice")).status_code == 401

    def test_re_enabled_user_signs_in_again(self, http):
        user_id = create_user(http, "alice")
        http.put(f"{API}/users/{user_id}/enabled", json={"enabled": False})
        assert http.put(f"{API}/users/{user_id}/enabled", json={"enabled": True}).status_code == 200
        assert http.get(f"{API}/users/current", headers=as_user("alice")).status_code == 200

    def test_admin_cannot_disable_or_delete_itself(self, http):
        admin_id = http.get(f"{API}/users/current").json()["user_id"]
        assert http.put(f"{API}/users/{admin_id}/enabled", json={"enabled": False}).status_code == 400
        assert http.delete(f"{API}/users/{admin_id}").status_code == 400
        assert http.get(f"{API}/users/current").status_code == 200

    def test_deleted_user_is_gone_and_cannot_sign_in(self, http):
        # given
        user_id = create_user(http, "alice")
        assert http.get(f"{API}/users/current", headers=as_user("alice")).status_code == 200
        # when
        response = http.delete(f"{API}/users/{user_id}")
        # then
        assert response.status_code == 200
        assert http.get(f"{API}/users/{user_id}").status_code == 404
        assert http.get(f"{API}/users/current", headers=as_user("alice")).status_code == 401
        assert "alice" not in {u["username"] for u in http.get(f"{API}/users").json()}
