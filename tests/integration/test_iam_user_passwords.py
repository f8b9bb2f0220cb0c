"""Users' passwords through the Harbor v2.0 REST API: changing one's own, an
administrator's reset, and which password works afterwards."""

import pytest

from tests.integration.iam_helpers import API, IamTests, as_user, create_user, errors, password_of


@pytest.fixture
def backend():
    return "sqlite"


class TestUserPasswords(IamTests):
    def test_password_change_needs_the_right_old_password(self, http):
        # given
        user_id = create_user(http, "alice")
        # when
        response = http.put(f"{API}/users/{user_id}/password", headers=as_user("alice"),
                            json={"old_password": "Wrong-Passw0rd", "new_password": "New-Passw0rd1"})
        # then
        assert response.status_code == 403
        assert errors(response) == ["FORBIDDEN"]
        assert http.get(f"{API}/users/current", headers=as_user("alice")).status_code == 200
        assert http.get(f"{API}/users/current",
                        headers=as_user("alice", "New-Passw0rd1")).status_code == 401

    def test_password_change_by_self_needs_an_old_password(self, http):
        user_id = create_user(http, "alice")
        response = http.put(f"{API}/users/{user_id}/password", headers=as_user("alice"),
                            json={"new_password": "New-Passw0rd1"})
        assert response.status_code == 400

    def test_new_password_must_meet_the_policy(self, http):
        user_id = create_user(http, "alice")
        response = http.put(f"{API}/users/{user_id}/password", headers=as_user("alice"),
                            json={"old_password": password_of("alice"), "new_password": "weak"})
        assert response.status_code == 400
        assert http.get(f"{API}/users/current", headers=as_user("alice")).status_code == 200

    def test_new_password_works_after_a_change(self, http):
        # given
        user_id = create_user(http, "alice")
        # when
        response = http.put(f"{API}/users/{user_id}/password", headers=as_user("alice"),
                            json={"old_password": password_of("alice"), "new_password": "New-Passw0rd1"})
        # then
        assert response.status_code == 200
        current = http.get(f"{API}/users/current", headers=as_user("alice", "New-Passw0rd1"))
        assert current.status_code == 200 and current.json()["username"] == "alice"

    def test_old_password_stops_working_after_a_change(self, http):
        # given: alice has signed in with her password (as any client does before changing it)
        user_id = create_user(http, "alice")
        assert http.get(f"{API}/users/current", headers=as_user("alice")).status_code == 200
        # when
        response = http.put(f"{API}/users/{user_id}/password", headers=as_user("alice"),
                            json={"old_password": password_of("alice"), "new_password": "New-Passw0rd1"})
        assert response.status_code == 200
        # then
        assert http.get(f"{API}/users/current", headers=as_user("alice")).status_code == 401

    def test_old_password_of_a_never_used_account_stops_working_after_admin_reset(self, http):
        # given
        user_id = create_user(http, "alice")
        # when: an administrator resets the password (no old password needed)
        response = http.put(f"{API}/users/{user_id}/password", json={"new_password": "Reset-Passw0rd1"})
        # then
        assert response.status_code == 200
        assert http.get(f"{API}/users/current", headers=as_user("alice")).status_code == 401
        assert http.get(f"{API}/users/current",
                        headers=as_user("alice", "Reset-Passw0rd1")).status_code == 200

    def test_a_plain_user_cannot_reset_another_users_password(self, http):
        create_user(http, "alice")
        bob = create_user(http, "bob")
        response = http.put(f"{API}/users/{bob}/password", headers=as_user("alice"),
                            json={"old_password": password_of("bob"), "new_password": "Stolen-Passw0rd1"})
        assert response.status_code == 403
        assert http.get(f"{API}/users/current", headers=as_user("bob")).status_code == 200
