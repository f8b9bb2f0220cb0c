"""Users through the Harbor v2.0 REST API, as a Harbor client sees them.

Also holds the small helpers the other identity-and-access tests share
(test_iam_projects.py, test_iam_robots_tokens.py, test_iam_rest.py).
"""

import base64
import json

import pytest
from argon2 import PasswordHasher

from tests.integration.conftest import ADMIN_PASSWORD, basic

API = "/api/v2.0"
USER_RESP_FIELDS = {"user_id", "username", "email", "realname", "comment", "sysadmin_flag",
                    "admin_role_in_auth", "creation_time", "update_time"}


@pytest.fixture
def backend():
    return "sqlite"


# -- helpers shared by the IAM REST tests -------------------------------------------


def password_of(username: str) -> str:
    """Every test user's password: meets the policy, differs per user."""
    return f"{username.capitalize()}-Passw0rd"


def as_user(username: str, password: str | None = None) -> dict:
    """Headers that make one request as this user instead of the client's default admin."""
    return {"authorization": basic(username, password or password_of(username))}


def anonymous(http, method: str, url: str, **kwargs):
    """Send a request with no Authorization header at all.

    The test client adds the admin's Basic header to every request, and an empty
    header value would still be sent; so build the request and drop the header.
    (To send a Bearer token instead, pass `headers=` to the client: it replaces the
    admin header.)
    """
    request = http.build_request(method, url, **kwargs)
    del request.headers["authorization"]
    return http.send(request)


def create_user(http, username: str, password: str | None = None, **fields) -> int:
    """Create a user as admin; its user_id (from the Location header)."""
    response = http.post(f"{API}/users", json={"username": username,
                                               "password": password or password_of(username),
                                               "email": f"{username}@example.com", **fields})
    assert response.status_code == 201, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def create_project(http, name: str, public: bool = False, headers: dict | None = None) -> None:
    response = http.post(f"{API}/projects", headers=headers,
                         json={"project_name": name, "metadata": {"public": str(public).lower()}})
    assert response.status_code == 201, response.text


def add_member(http, project: str, username: str, role: int, headers: dict | None = None) -> int:
    """Add a member by username; its member id (from the Location header)."""
    response = http.post(f"{API}/projects/{project}/members", headers=headers,
                         json={"role_id": role, "member_user": {"username": username}})
    assert response.status_code == 201, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def errors(response) -> list[str]:
    """The codes of a Harbor error body, checking its shape on the way."""
    body = response.json()
    assert set(body) == {"errors"}, body
    assert all(set(e) >= {"code", "message"} and e["message"] for e in body["errors"]), body
    return [e["code"] for e in body["errors"]]


def jwt_part(token: str, index: int) -> dict:
    """A JWT's header (0) or payload (1), decoded without checking the signature."""
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class IamTests:
    """Base of the IAM test classes: cheap argon2id parameters for the credential store.

    Hashing with argon2's default cost takes ~0.16 s here, and these tests create and
    sign in many users; they check the API, not the hash cost, so they use a cheap
    argon2id hasher (hashes stay argon2id and are verified the same way).
    """

    @pytest.fixture
    def registry(self, registry):
        registry.credentials.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        return registry


# -- users ------------------------------------------------------------------------------


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

    def test_a_plain_user_cannot_reset_another_users_password(self, http):
        create_user(http, "alice")
        bob = create_user(http, "bob")
        response = http.put(f"{API}/users/{bob}/password", headers=as_user("alice"),
                            json={"old_password": password_of("bob"), "new_password": "Stolen-Passw0rd1"})
        assert response.status_code == 403
        assert http.get(f"{API}/users/current", headers=as_user("bob")).status_code == 200

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

    def test_unknown_user_id_is_not_found(self, http):
        response = http.get(f"{API}/users/999999")
        assert response.status_code == 404
        assert errors(response) == ["NOT_FOUND"]

    def test_admin_password_comes_from_settings(self, http):
        response = http.get(f"{API}/users/current", headers=as_user("admin", ADMIN_PASSWORD))
        assert response.json()["sysadmin_flag"] is True
