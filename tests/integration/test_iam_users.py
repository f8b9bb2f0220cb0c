"""User accounts through the Harbor v2.0 REST API, as a Harbor client sees them: creating,
reading, listing and updating them (passwords: test_iam_user_passwords.py; sysadmin,
disabling and deleting: test_iam_user_admin.py; shared helpers: iam_helpers.py)."""

import pytest

from tests.integration.conftest import ADMIN_PASSWORD
from tests.integration.iam_helpers import (
    API, IamTests, anonymous, as_user, create_user, errors, password_of,
)

USER_RESP_FIELDS = {"user_id", "username", "email", "realname", "comment", "sysadmin_flag",
                    "admin_role_in_auth", "creation_time", "update_time"}


@pytest.fixture
def backend():
    return "sqlite"


class TestUsers(IamTests):
    def test_admin_creates_a_user_and_reads_it_back_in_harbor_shape(self, http):
        # when
        response = http.post(f"{API}/users", json={
            "username": "alice", "password": password_of("alice"), "email": "alice@example.com",
            "realname": "Alice Liddell", "comment": "QA"})
        # then
        assert response.status_code == 201
        location = response.headers["location"]
        assert location.startswith(f"{API}/users/")
        user_id = int(location.rsplit("/", 1)[1])
        fetched = http.get(location)
        assert fetched.status_code == 200
        body = fetched.json()
        assert USER_RESP_FIELDS <= set(body)
        assert "password" not in body and "password_hash" not in body
        assert body["user_id"] == user_id
        assert (body["username"], body["email"], body["realname"], body["comment"]) == \
            ("alice", "alice@example.com", "Alice Liddell", "QA")
        assert body["sysadmin_flag"] is False and body["admin_role_in_auth"] is False
        assert body["creation_time"] and body["update_time"]

    @pytest.mark.parametrize("weak", ["Sh0rt-a", "alllowercase1", "ALLUPPERCASE1", "NoDigitsHere",
                                      "Aa1" * 43])
    def test_weak_password_is_refused_and_no_user_is_created(self, http, weak):
        # when
        response = http.post(f"{API}/users", json={"username": "weakling", "password": weak})
        # then
        assert response.status_code == 400
        assert errors(response) == ["BAD_REQUEST"]
        assert http.get(f"{API}/users", params={"username": "weakling"}).json() == []
        assert http.get(f"{API}/users/current", headers=as_user("weakling", weak)).status_code == 401

    def test_duplicate_username_conflicts(self, http):
        # given
        create_user(http, "alice")
        # when
        response = http.post(f"{API}/users", json={"username": "alice", "password": "Other-Passw0rd"})
        # then
        assert response.status_code == 409
        assert errors(response) == ["CONFLICT"]
        assert http.get(f"{API}/users/current", headers=as_user("alice")).status_code == 200
        assert http.get(f"{API}/users/current",
                        headers=as_user("alice", "Other-Passw0rd")).status_code == 401

    @pytest.mark.parametrize("username", ["has space", "a:b", "robot$sneaky", "slash/name", ""])
    def test_bad_usernames_are_refused(self, http, username):
        response = http.post(f"{API}/users", json={"username": username, "password": "Fine-Passw0rd"})
        assert response.status_code == 400
        assert errors(response) == ["BAD_REQUEST"]
        assert http.get(f"{API}/users").headers["x-total-count"] == "1"

    def test_invalid_email_is_refused(self, http):
        response = http.post(f"{API}/users", json={"username": "alice", "password": password_of("alice"),
                                                   "email": "not-an-address"})
        assert response.status_code == 400
        assert http.get(f"{API}/users", params={"username": "alice"}).json() == []

    def test_password_may_contain_a_colon(self, http):
        create_user(http, "alice", password="Pass:w0rd-x")
        assert http.get(f"{API}/users/current", headers=as_user("alice", "Pass:w0rd-x")).status_code == 200

    def test_current_user_is_the_caller(self, http):
        # given
        user_id = create_user(http, "alice")
        # when
        response = http.get(f"{API}/users/current", headers=as_user("alice"))
        # then
        assert response.status_code == 200
        body = response.json()
        assert (body["user_id"], body["username"], body["sysadmin_flag"]) == (user_id, "alice", False)

    def test_a_plain_user_cannot_list_users(self, http):
        # given
        create_user(http, "alice")
        # when
        response = http.get(f"{API}/users", headers=as_user("alice"))
        # then
        assert response.status_code == 403
        assert errors(response) == ["FORBIDDEN"]

    def test_anonymous_cannot_list_users(self, http):
        response = anonymous(http, "GET", f"{API}/users")
        assert response.status_code == 401
        assert errors(response) == ["UNAUTHORIZED"]
        assert response.headers["www-authenticate"].lower().startswith("basic")

    def test_a_plain_user_cannot_read_another_user(self, http):
        # given
        create_user(http, "alice")
        bob = create_user(http, "bob")
        # when
        response = http.get(f"{API}/users/{bob}", headers=as_user("alice"))
        # then
        assert response.status_code == 403

    def test_admin_lists_users_with_paging_headers(self, http):
        # given
        for name in ("alice", "bob", "carol"):
            create_user(http, name)
        # when
        first = http.get(f"{API}/users", params={"page_size": 1})
        # then
        assert first.status_code == 200
        assert first.headers["x-total-count"] == "4"  # admin and three users
        assert len(first.json()) == 1
        assert 'rel="next"' in first.headers["link"] and 'rel="prev"' not in first.headers["link"]

    def test_user_updates_own_profile_but_not_anothers(self, http):
        # given
        alice = create_user(http, "alice")
        bob = create_user(http, "bob")
        # when
        mine = http.put(f"{API}/users/{alice}", headers=as_user("alice"),
                        json={"email": "a@example.org", "realname": "Alice L."})
        theirs = http.put(f"{API}/users/{bob}", headers=as_user("alice"), json={"email": "x@example.org"})
        # then
        assert (mine.status_code, theirs.status_code) == (200, 403)
        body = http.get(f"{API}/users/{alice}").json()
        assert (body["email"], body["realname"]) == ("a@example.org", "Alice L.")
        assert http.get(f"{API}/users/{bob}").json()["email"] == "bob@example.com"

    def test_unknown_user_id_is_not_found(self, http):
        response = http.get(f"{API}/users/999999")
        assert response.status_code == 404
        assert errors(response) == ["NOT_FOUND"]

    def test_admin_password_comes_from_settings(self, http):
        response = http.get(f"{API}/users/current", headers=as_user("admin", ADMIN_PASSWORD))
        assert response.json()["sysadmin_flag"] is True
