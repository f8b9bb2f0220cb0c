"""LDAP through HTTP against a real slapd (tests/ldap_server.py): Harbor's /ldap routes, the
`ldap_auth` sign-in at every door (REST Basic, the token service, /v2/, the portal), users
onboarded on their first sign-in, groups resolved, injections refused, the administrator
still in while the directory is down, and the search password never shown (ADR 0042)."""

import json

import pytest
from litestar.testing import TestClient
from structlog.testing import capture_logs

from infra.wiring.app import create_app
from tests.integration.conftest import ADMIN_PASSWORD, basic
from tests.integration.iam_helpers import API, anonymous, create_user, jwt_part, password_of
from tests.integration.keys_helpers import tidemark
from tests.integration.sign_in_flows import recorded_events
from tests.ldap_server import GROUPS, PEOPLE, READER_PASSWORD, USERS, ldap_directory

CONFIG = f"{API}/configurations"
LDAP = f"{API}/ldap"
ALICE_PASSWORD = USERS["alice"][0]


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    with ldap_directory(tmp_path_factory.mktemp("ldap")) as server:
        yield server


@pytest.fixture
def directory(slapd):
    slapd.start()  # a test that stopped it leaves it stopped
    return slapd


def configure(http, directory, **overrides):
    response = http.put(CONFIG, json=directory.settings(**overrides))
    assert response.status_code == 200, response.text


@pytest.fixture
def ldap_mode(http, directory):
    configure(http, directory, auth_mode="ldap_auth")
    return directory


def me(http, name: str, password: str):
    return http.get(f"{API}/users/current", headers={"authorization": basic(name, password)})


# -- /ldap/ping ------------------------------------------------------------------------


def test_ping_binds_with_the_saved_settings_or_the_ones_given(http, directory):
    configure(http, directory)
    assert http.post(f"{LDAP}/ping").json()["success"] is True
    assert http.post(f"{LDAP}/ping", json={}).json()["success"] is True
    wrong = http.post(f"{LDAP}/ping", json={"ldap_search_password": "Not-The-Password"})
    assert wrong.status_code == 200 and wrong.json()["success"] is False
    assert "search account" in wrong.json()["message"] and "Not-The-Password" not in wrong.text
    gone = http.post(f"{LDAP}/ping", json={"ldap_url": "ldap://127.0.0.1:9", "ldap_search_password": "x"})
    assert gone.status_code == 200 and gone.json()["success"] is False
    assert "cannot reach the LDAP server 127.0.0.1:9" in gone.json()["message"]


def test_ping_never_sends_the_saved_password_to_another_server_or_account(http, directory):
    configure(http, directory)
    for other in ({"ldap_url": "ldap://127.0.0.1:9"}, {"ldap_search_dn": f"uid=alice,{PEOPLE}"}):
        refused = http.post(f"{LDAP}/ping", json=other)
        assert refused.status_code == 400, refused.text
        assert refused.json()["errors"][0]["code"] == "BAD_REQUEST"
        assert "ldap_search_password is required" in refused.text


def test_ping_with_settings_that_cannot_work_is_a_400(http, directory):
    for body in ({"ldap_url": "http://127.0.0.1:80", "ldap_search_password": "x"},
                 {"ldap_base_dn": "not a dn"}, {"ldap_uid": "uid)(x"}, {"ldap_scope": 7},
                 {"ldap_filter": "(objectClass=*))(uid=*"}):
        answer = http.post(f"{LDAP}/ping", json=body)
        assert answer.status_code == 400, (body, answer.text)


def test_ldaps_and_starttls_verify_the_certificate_unless_told_not_to(http, directory, monkeypatch):
    configure(http, directory)
    starttls = directory.url.replace("ldap://", "ldap+starttls://")
    for url in (directory.ldaps_url, starttls):
        body = {"ldap_url": url, "ldap_search_password": READER_PASSWORD}
        untrusted = http.post(f"{LDAP}/ping", json=body).json()
        assert untrusted["success"] is False and "certificate" in untrusted["message"].lower(), untrusted
        assert http.post(f"{LDAP}/ping", json={**body, "ldap_verify_cert": False}).json()["success"] is True
        monkeypatch.setenv("SSL_CERT_FILE", str(directory.ca_file))  # the system trust store
        assert http.post(f"{LDAP}/ping", json=body).json()["success"] is True
        monkeypatch.delenv("SSL_CERT_FILE")


# -- searches and import ----------------------------------------------------------------


def test_user_search_answers_harbors_ldap_users(http, directory):
    configure(http, directory)
    alice = http.get(f"{LDAP}/users/search", params={"username": "alice"})
    assert alice.status_code == 200
    assert alice.json() == [{"username": "alice", "realname": "Alice Liddell", "email": "alice@example.org"}]
    everyone = http.get(f"{LDAP}/users/search").json()
    assert sorted(u["username"] for u in everyone) == sorted(USERS)


def test_a_search_for_filter_syntax_matches_only_those_very_characters(http, directory):
    configure(http, directory)
    star = http.get(f"{LDAP}/users/search", params={"username": "*"}).json()
    assert [u["username"] for u in star] == ["*"]  # the user whose uid is a star, not everyone
    for injection in ("*)(uid=*", "admin)(|(uid=*", "alice)(objectClass=*", "al*"):
        assert http.get(f"{LDAP}/users/search", params={"username": injection}).json() == []


def test_import_creates_users_and_lists_failures_as_harbor(http, directory):
    configure(http, directory)
    answer = http.post(f"{LDAP}/users/import", json={"ldap_uid_list": ["alice", "nobody", "*)(uid=*"]})
    assert answer.status_code == 404
    assert answer.json() == [{"uid": "nobody", "error": "unknown_user"},
                             {"uid": "*)(uid=*", "error": "unknown_user"}]
    [alice] = http.get(f"{API}/users", params={"q": "username=alice"}).json()
    assert (alice["email"], alice["realname"]) == ("alice@example.org", "Alice Liddell")
    again = http.post(f"{LDAP}/users/import", json={"ldap_uid_list": ["alice"]})
    assert again.status_code == 404 and again.json() == [{"uid": "alice", "error": "duplicate_user"}]
    assert http.post(f"{LDAP}/users/import", json={"ldap_uid_list": []}).status_code == 400


def test_group_search_by_name_or_dn_under_the_group_base(http, directory):
    configure(http, directory)
    developers = {"group_name": "developers", "group_type": 1, "ldap_group_dn": f"cn=developers,{GROUPS}"}
    assert http.get(f"{LDAP}/groups/search", params={"groupname": "developers"}).json() == [developers]
    by_dn = http.get(f"{LDAP}/groups/search", params={"groupdn": f"cn=developers,{GROUPS}"}).json()
    assert by_dn == [developers]
    assert http.get(f"{LDAP}/groups/search", params={"groupdn": f"uid=alice,{PEOPLE}"}).json() == []
    assert http.get(f"{LDAP}/groups/search", params={"groupname": "*"}).json() == []
    assert http.get(f"{LDAP}/groups/search", params={"groupdn": "not a dn"}).status_code == 400


def test_a_directory_that_cannot_answer_is_a_503_with_the_reason(http, directory):
    configure(http, directory, ldap_url="ldap://127.0.0.1:9")
    answer = http.get(f"{LDAP}/users/search", params={"username": "alice"})
    assert answer.status_code == 503 and "cannot reach the LDAP server" in answer.text


# -- sign-in ------------------------------------------------------------------------------


def test_first_sign_in_onboards_the_user_with_the_directorys_profile(http, ldap_mode, registry):
    seen = []
    registry.sign_in_modes.groups_found = lambda name, groups: seen.append((name, groups))
    answer = me(http, "alice", ALICE_PASSWORD)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["username"], body["email"], body["realname"]) == ("alice", "alice@example.org", "Alice Liddell")
    assert body["sysadmin_flag"] is False
    assert seen == [("alice", [("developers", f"cn=developers,{GROUPS}")])]
    assert me(http, "alice", ALICE_PASSWORD).status_code == 200  # onboarded once
    assert len(http.get(f"{API}/users", params={"q": "username=alice"}).json()) == 1


def test_groups_are_found_by_search_when_the_directory_keeps_no_memberof(http, directory, registry):
    configure(http, directory, auth_mode="ldap_auth", ldap_group_membership_attribute="isMemberOf")
    seen = []
    registry.sign_in_modes.groups_found = lambda name, groups: seen.append((name, groups))
    assert me(http, "bob", USERS["bob"][0]).status_code == 200
    assert seen == [("bob", [("developers", f"cn=developers,{GROUPS}")])]


def test_a_wrong_password_is_refused_and_recorded_as_a_failed_sign_in(http, ldap_mode, registry):
    answer = http.get(f"{API}/users/current", headers={"authorization": basic("alice", "Wrong-Passw0rd"),
                                                        "x-forwarded-for": "203.0.113.9"})
    assert answer.status_code == 401
    assert me(http, "alice", "").status_code == 401  # an empty password is no unauthenticated bind
    registry.sign_ins.flush()
    failures = [f for e in recorded_events(registry) for f in e.failures]
    assert [f["name"] for f in failures] == ["alice", "alice"]
    assert all("Wrong-Passw0rd" not in json.dumps(f) for f in failures)
    assert http.get(f"{API}/users", params={"q": "username=alice"}).json() == []  # nobody onboarded


def test_failed_directory_sign_ins_are_throttled_like_any_other(http, ldap_mode):
    for n in range(5):
        assert me(http, "alice", f"Wrong-Passw0rd{n}").status_code == 401
    throttled = me(http, "alice", ALICE_PASSWORD)
    assert throttled.status_code == 429 and "retry-after" in throttled.headers


@pytest.mark.parametrize("name", ["*)(uid=*", "admin)(|(uid=*", "alice)(uid=*", "al*", "ALICE", "alice\\2a"])
def test_injections_through_the_username_fail_to_sign_in(http, ldap_mode, name):
    for password in (ALICE_PASSWORD, USERS["*"][0], USERS["admin"][0]):
        assert me(http, name, password).status_code == 401, (name, password)
    names = {u["username"] for u in http.get(f"{API}/users").json()}
    assert names == {"admin"}  # nobody was onboarded by a match on another entry


def test_a_uid_that_is_a_star_signs_in_only_as_itself(http, ldap_mode):
    assert me(http, "*", ALICE_PASSWORD).status_code == 401  # the star matches no one else
    star = me(http, "*", USERS["*"][0])
    assert star.status_code == 200 and star.json()["username"] == "*"
    assert {u["username"] for u in http.get(f"{API}/users").json()} == {"admin", "*"}


def test_the_token_service_and_v2_take_directory_credentials(http, ldap_mode):
    alice = {"authorization": basic("alice", ALICE_PASSWORD)}
    create_project = http.post(f"{API}/projects", json={"project_name": "team", "metadata": {"public": "false"}})
    assert create_project.status_code == 201
    scope = {"service": "tidemark", "scope": "repository:team/app:pull,push"}
    token = http.get("/service/token", params=scope, headers=alice)
    assert token.status_code == 200 and jwt_part(token.json()["token"], 1)["sub"] == "alice"
    assert jwt_part(token.json()["token"], 1)["access"][0]["actions"] == []  # not a member of team yet
    assert http.post(f"{API}/projects/team/members", json={
        "role_id": 2, "member_user": {"username": "alice"}}).status_code == 201  # developer
    token = http.get("/service/token", params=scope, headers=alice)
    assert sorted(jwt_part(token.json()["token"], 1)["access"][0]["actions"]) == ["pull", "push"]
    assert http.get("/v2/", headers=alice).status_code == 200
    refused = http.get("/service/token", params=scope, headers={"authorization": basic("alice", "Wrong-Passw0rd")})
    assert refused.status_code == 401


def test_the_portal_signs_in_directory_users(registry, settings, ldap_mode):
    with TestClient(create_app(settings, registry), base_url="http://registry.test") as browser:
        refused = browser.post("/c/login", data={"principal": "alice", "password": "Wrong-Passw0rd"},
                               headers={"origin": "http://registry.test"})
        assert refused.status_code == 401
        signed_in = browser.post("/c/login", data={"principal": "alice", "password": ALICE_PASSWORD},
                                 headers={"origin": "http://registry.test"})
        assert signed_in.status_code == 200, signed_in.text
        assert browser.get(f"{API}/users/current").json()["username"] == "alice"


def test_the_directorys_admin_group_makes_administrators(http, ldap_mode):
    carol = {"authorization": basic("carol", USERS["carol"][0])}
    assert http.get(CONFIG, headers=carol).status_code == 200
    assert http.get(CONFIG, headers={"authorization": basic("alice", ALICE_PASSWORD)}).status_code == 403
    [row] = http.get(f"{API}/users", params={"q": "username=carol"}).json()
    assert row["sysadmin_flag"] is False  # an administrator by the directory's word, not stored
    current = http.get(f"{API}/users/current", headers=carol).json()
    assert (current["sysadmin_flag"], current["admin_role_in_auth"]) == (False, True)
    # back to database sign-in: the directory's word no longer counts
    assert http.put(CONFIG, json={"auth_mode": "db_auth"}).status_code == 200
    assert me(http, "carol", USERS["carol"][0]).status_code == 401


def test_database_users_and_the_admin_keep_working_beside_the_directory(http, ldap_mode):
    create_user(http, "dora")  # a database user the directory does not hold
    assert me(http, "dora", password_of("dora")).status_code == 200
    assert me(http, "admin", USERS["admin"][0]).status_code == 401  # the directory's admin is not ours
    assert me(http, "admin", ADMIN_PASSWORD).status_code == 200


def test_the_admin_signs_in_while_the_directory_is_down(http, ldap_mode):
    assert me(http, "alice", ALICE_PASSWORD).status_code == 200
    ldap_mode.stop()
    assert me(http, "admin", ADMIN_PASSWORD).status_code == 200
    with capture_logs() as logs:
        assert me(http, "alice", ALICE_PASSWORD + "x").status_code == 401
    [said] = [entry for entry in logs if entry["event"].startswith("LDAP unavailable")]
    assert said["user"] == "alice" and "cannot reach the LDAP server" in said["reason"]
    assert ALICE_PASSWORD not in repr(logs)
    token = http.get("/service/token", params={"service": "tidemark", "scope": "repository:library/app:pull"},
                     headers={"authorization": basic("admin", ADMIN_PASSWORD)})
    assert token.status_code == 200 and jwt_part(token.json()["token"], 1)["sub"] == "admin"
    assert http.post(f"{LDAP}/ping").json()["success"] is False


# -- settings ----------------------------------------------------------------------------


def test_bad_ldap_settings_are_a_400_and_record_nothing(http, registry, directory):
    head = registry.app.head()
    for values in ({"ldap_url": "http://directory:80"}, {"ldap_base_dn": "people"},
                   {"ldap_uid": "uid=*"}, {"ldap_filter": "(a=b))(|(c=d)"}, {"ldap_uid": ""},
                   {"ldap_scope": 3}, {"ldap_timeout": 0}, {"auth_mode": "uaa_auth"},
                   {"ldap_group_admin_dn": "admins"}, {"ldap_verify_cert": "no"}):
        answer = http.put(CONFIG, json={**directory.settings(), **values})
        assert answer.status_code == 400, (values, answer.text)
        assert answer.json()["errors"][0]["code"] == "BAD_REQUEST"
    assert registry.app.head() == head


def test_non_administrators_are_refused_and_nothing_is_stored(http, registry, directory):
    create_user(http, "dora")
    dora = {"authorization": basic("dora", password_of("dora"))}
    head = registry.app.head()
    assert http.put(CONFIG, json=directory.settings(auth_mode="ldap_auth"), headers=dora).status_code == 403
    assert http.post(f"{LDAP}/ping", json=directory.settings(), headers=dora).status_code == 403
    assert http.post(f"{LDAP}/users/import", json={"ldap_uid_list": ["alice"]}, headers=dora).status_code == 403
    assert http.get(f"{LDAP}/users/search", headers=dora).status_code == 403
    assert http.get(f"{LDAP}/groups/search", headers=dora).status_code == 403
    assert anonymous(http, "POST", f"{LDAP}/ping", json={}).status_code == 401
    assert registry.app.head() == head
    assert http.get(CONFIG).json()["auth_mode"]["value"] == "db_auth"


def test_the_search_password_is_sealed_never_answered_nor_logged(http, registry, settings, ldap_mode):
    assert READER_PASSWORD not in http.get(CONFIG).text
    assert "ldap_search_password" not in http.get(CONFIG).json()
    with capture_logs() as logs:
        assert me(http, "alice", ALICE_PASSWORD).status_code == 200
        assert me(http, "alice", "Wrong-Alice-Pw").status_code == 401
        assert http.post(f"{LDAP}/ping", json={"ldap_search_password": "Wrong-Reader-Pw"}).json()["success"] is False
        assert http.put(CONFIG, json={"ldap_url": "ldap://127.0.0.1:9"}).status_code == 200
        # the directory moved out of reach: the cached success is forgotten, and alice's
        # database password is the random one of her onboarding
        assert me(http, "alice", ALICE_PASSWORD).status_code == 401
    assert any(entry["event"].startswith("LDAP unavailable") for entry in logs)
    for secret in (READER_PASSWORD, ALICE_PASSWORD, "Wrong-Alice-Pw", "Wrong-Reader-Pw", USERS["bob"][0]):
        assert secret not in repr(logs)
    notifications = registry.app.recorder.select_notifications(start=1, limit=100_000)
    assert not any(READER_PASSWORD.encode() in n.state for n in notifications)
    events = [registry.app.mapper.to_domain_event(n) for n in notifications]
    sealed = [c["new"] for e in events for c in getattr(e, "changes", []) if c["key"] == "ldap_search_password"]
    assert sealed and all(value.startswith("sealed:v1:") for value in sealed)
    assert READER_PASSWORD not in repr(events) and ALICE_PASSWORD not in repr(events)
    exported = tidemark(settings.data_path, "events", "export")
    assert exported.returncode == 0 and "ldap_search_password" in exported.stdout
    assert READER_PASSWORD not in exported.stdout and ALICE_PASSWORD not in exported.stdout


def test_a_disabled_or_deleted_user_stays_out_whatever_the_directory_says(http, ldap_mode):
    assert me(http, "alice", ALICE_PASSWORD).status_code == 200
    assert me(http, "bob", USERS["bob"][0]).status_code == 200
    [alice] = http.get(f"{API}/users", params={"q": "username=alice"}).json()
    [bob] = http.get(f"{API}/users", params={"q": "username=bob"}).json()
    assert http.put(f"{API}/users/{alice['user_id']}/enabled", json={"enabled": False}).status_code == 200
    assert http.delete(f"{API}/users/{bob['user_id']}").status_code == 200
    assert me(http, "alice", ALICE_PASSWORD).status_code == 401
    assert me(http, "bob", USERS["bob"][0]).status_code == 401  # not onboarded again under the old name
    assert http.get(f"{API}/users", params={"q": "username=bob"}).json() == []


def test_a_directory_group_that_is_a_project_member_gives_its_role(http, ldap_mode):
    """Issue 17 section 4 with section 2: the directory's groups become LDAP user groups (by
    DN) at each sign-in; the group's project role is the user's, at the token service too."""
    alice = {"authorization": basic("alice", ALICE_PASSWORD)}
    assert http.post(f"{API}/projects", json={"project_name": "crew", "metadata": {"public": "false"}}).status_code == 201
    assert me(http, "alice", ALICE_PASSWORD).status_code == 200  # signs in: her groups are recorded
    groups = http.get(f"{API}/usergroups", params={"ldap_group_dn": f"cn=developers,{GROUPS}"}).json()
    assert [(g["group_name"], g["group_type"]) for g in groups] == [("developers", 1)]
    scope = {"service": "tidemark", "scope": "repository:crew/app:pull,push"}
    assert jwt_part(http.get("/service/token", params=scope, headers=alice).json()["token"], 1)["access"][0]["actions"] == []
    assert http.post(f"{API}/projects/crew/members", json={
        "role_id": 2, "member_group": {"id": groups[0]["id"]}}).status_code == 201
    token = http.get("/service/token", params=scope, headers=alice)
    assert sorted(jwt_part(token.json()["token"], 1)["access"][0]["actions"]) == ["pull", "push"]
    assert http.get(f"{API}/projects/crew/repositories", headers=alice).status_code == 200
