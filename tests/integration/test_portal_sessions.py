"""Portal sessions (write_api/portal_sessions.py, infra/auth/sessions.py) through HTTP on SQLite
and PostgreSQL: what a browser's cookies allow, what they do not, and when they stop working."""

import pytest
from litestar.testing import TestClient

from infra.wiring.app import create_app
from tests.integration.iam_helpers import create_user, password_of

API = "/api/v2.0"
ORIGIN = "http://registry.test"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def browser(registry, settings):
    """A client with no Authorization header: only the cookies it is given."""
    with TestClient(create_app(settings, registry), base_url=ORIGIN) as client:
        yield client


def sign_in(browser, name: str, password: str | None = None, **headers):
    return browser.post("/c/login", data={"principal": name, "password": password or password_of(name)},
                        headers=headers)


def test_a_sign_in_sets_httponly_strict_cookies_that_stand_for_the_user(http, browser, registry):
    create_user(http, "alice")
    answer = sign_in(browser, "alice", origin=ORIGIN)
    assert answer.status_code == 200
    cookies = answer.headers.get_list("set-cookie")
    [sid] = [c for c in cookies if c.startswith("sid=")]
    [csrf] = [c for c in cookies if c.startswith("__csrf=")]
    assert "HttpOnly" in sid and "SameSite=strict" in sid.replace("Strict", "strict") and "Path=/" in sid
    assert "HttpOnly" not in csrf and answer.headers["x-harbor-csrf-token"] == browser.cookies["__csrf"]
    assert "Secure" not in sid  # the external URL is http here
    current = browser.get(f"{API}/users/current")
    assert current.status_code == 200 and current.json()["username"] == "alice"
    token = browser.cookies["sid"]
    stored = registry.db.read("SELECT token_hash FROM portal_sessions")
    assert stored and all(token not in row[0] for row in stored)  # only a hash is kept


def test_a_change_needs_the_sessions_csrf_token(http, browser):
    create_user(http, "alice")
    assert sign_in(browser, "alice").status_code == 200
    body = {"project_name": "mine", "metadata": {"public": "false"}}
    refused = browser.post(f"{API}/projects", json=body)
    assert refused.status_code == 403 and "CSRF" in refused.json()["errors"][0]["message"]
    wrong = browser.post(f"{API}/projects", json=body, headers={"x-harbor-csrf-token": "guess"})
    assert wrong.status_code == 403
    assert http.head(f"{API}/projects", params={"project_name": "mine"}).status_code == 404  # nothing stored
    made = browser.post(f"{API}/projects", json=body, headers={"x-harbor-csrf-token": browser.cookies["__csrf"]})
    assert made.status_code == 201, made.text


def test_wrong_passwords_robots_and_other_sites_get_no_session(http, browser, registry):
    create_user(http, "alice")
    assert sign_in(browser, "alice", "Wrong-Passw0rd").status_code == 401
    assert sign_in(browser, "alice", origin="https://evil.example").status_code == 403
    robot = http.post(f"{API}/robots", json={"name": "ci", "level": "system", "duration": -1, "permissions": [
        {"kind": "system", "namespace": "/", "access": [{"resource": "project", "action": "list"}]}]})
    assert robot.status_code == 201, robot.text
    assert sign_in(browser, robot.json()["name"], robot.json()["secret"]).status_code == 401
    assert "sid" not in browser.cookies
    assert registry.db.read("SELECT count(*) FROM portal_sessions")[0][0] == 0
    registry.sign_ins.flush()
    registry.catch_up()
    failed = http.get(f"{API}/audit-logs", params={"q": "operation=login_failed"}).json()
    assert [(row["resource"], row["resource_type"]) for row in failed] == [("alice", "user")]


def test_sign_out_ends_the_session_everywhere(http, browser, registry, settings):
    create_user(http, "alice")
    assert sign_in(browser, "alice").status_code == 200
    token, csrf = browser.cookies["sid"], browser.cookies["__csrf"]
    assert browser.post("/c/log_out").status_code == 403  # no other site can sign you out
    out = browser.post("/c/log_out", headers={"x-harbor-csrf-token": csrf})
    assert out.status_code == 200 and "sid" not in browser.cookies
    with TestClient(create_app(settings, registry), base_url=ORIGIN) as replay:  # the old cookie, kept
        replay.cookies.set("sid", token)
        assert replay.get(f"{API}/users/current").status_code == 401


def test_a_password_change_or_a_deletion_ends_the_session(http, browser):
    user_id = create_user(http, "alice")
    assert sign_in(browser, "alice").status_code == 200
    assert browser.get(f"{API}/users/current").status_code == 200
    changed = http.put(f"{API}/users/{user_id}/password", json={"new_password": "Other-Passw0rd"})
    assert changed.status_code == 200, changed.text
    assert browser.get(f"{API}/users/current").status_code == 401
    assert sign_in(browser, "alice", "Other-Passw0rd").status_code == 200
    assert browser.get(f"{API}/users/current").status_code == 200
    assert http.delete(f"{API}/users/{user_id}").status_code == 200
    assert browser.get(f"{API}/users/current").status_code == 401


def test_an_idle_session_expires(http, registry, settings):
    clock = [1_000_000.0]
    create_user(http, "alice")
    with TestClient(create_app(settings, registry), base_url=ORIGIN) as browser:
        registry.sessions._clock = lambda: clock[0]
        registry.sessions.idle = 60.0
        assert sign_in(browser, "alice").status_code == 200
        clock[0] += 50
        assert browser.get(f"{API}/users/current").status_code == 200  # used: the idle time starts again
        clock[0] += 50
        assert browser.get(f"{API}/users/current").status_code == 200
        clock[0] += 61
        assert browser.get(f"{API}/users/current").status_code == 401
        assert registry.db.read("SELECT count(*) FROM portal_sessions")[0][0] == 0


def test_basic_credentials_beside_a_cookie_need_no_csrf_token(http, browser):
    """Scripts keep working as they do: the CSRF check is for what the cookie alone allows."""
    create_user(http, "alice")
    assert sign_in(browser, "alice").status_code == 200
    made = browser.post(f"{API}/projects", json={"project_name": "scripted"},
                        headers={"authorization": http.headers["authorization"]})
    assert made.status_code == 201


def test_sessions_opened_and_used_by_many_browsers_at_once_stay_apart(http, registry):
    """Eight browsers signing in and reading at once (threads on the session store, as the
    server's worker threads call it): each gets its own session, each finds only its own."""
    from concurrent.futures import ThreadPoolExecutor

    names = [f"user{n}" for n in range(8)]
    for name in names:
        create_user(http, name)

    def one(name):
        token, csrf = registry.sessions.open(name)
        found = [registry.sessions.find(token) for _ in range(5)]
        return token, csrf, found

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, names))
    assert len({token for token, _, _ in results}) == 8 and len({csrf for _, csrf, _ in results}) == 8
    for name, (_, csrf, found) in zip(names, results):
        assert all(session is not None and session.username == name and session.csrf == csrf for session in found)
    assert registry.db.read("SELECT count(*) FROM portal_sessions")[0][0] == 8
