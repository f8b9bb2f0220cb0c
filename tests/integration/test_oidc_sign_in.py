"""OIDC sign-in (write_api/oidc_sign_in.py, infra/auth/oidc_users.py, ADR 0043) against a real
OpenID provider the test starts (tests/integration/oidc_server.py): the portal's code flow,
onboarding, the admin group, the CLI secret at the token service, refresh and its failure."""

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar.testing import TestClient

from infra.wiring.app import create_app
from tests.integration.conftest import ADMIN_PASSWORD, basic
from tests.integration.oidc_server import oidc_provider

API = "/api/v2.0"
CONFIG = API + "/configurations"
ORIGIN = "http://registry.test"
CLIENT_SECRET = "Client-Secret-4-tidemark"
CLI_SECRET = "Cli-Secret-9xy"


@pytest.fixture(scope="module")
def provider():
    with oidc_provider() as server:
        yield server


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture
def browser(registry, settings):
    """A client with no Authorization header: only the cookies it is given."""
    with TestClient(create_app(settings, registry), base_url=ORIGIN) as client:
        yield client


def configure(http, provider, **values):
    body = {"auth_mode": "oidc_auth", "oidc_name": "Dex", "oidc_endpoint": provider.url,
            "oidc_client_id": "tidemark", "oidc_client_secret": CLIENT_SECRET,
            "oidc_scope": "openid,profile,email", "oidc_user_claim": "preferred_username",
            "oidc_groups_claim": "groups", "oidc_admin_group": "registry-admins",
            "oidc_auto_onboard": True, "oidc_verify_cert": False, **values}
    answer = http.put(CONFIG, json=body)
    assert answer.status_code == 200, answer.text


def start(browser, redirect="/harbor/projects"):
    answer = browser.get("/c/oidc/login", params={"redirect_url": redirect}, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def come_back(browser, callback_url):
    parts = urlsplit(callback_url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == ORIGIN + "/c/oidc/callback"
    return browser.get(f"{parts.path}?{parts.query}", follow_redirects=False)


def sign_in(browser, provider, sub):
    return come_back(browser, provider.authorize(start(browser), sub))


def test_sign_in_onboards_the_user_and_opens_the_portal_session(http, browser, provider, registry):
    configure(http, provider)
    provider.set_user("sub-alice", preferred_username="alice", email="alice@example.com", name="Alice A",
                      groups=["developers"])
    authorization = start(browser)
    query = parse_qs(urlsplit(authorization).query)
    assert query["code_challenge_method"] == ["S256"] and query["client_id"] == ["tidemark"]
    assert query["state"][0] and query["nonce"][0] and query["scope"] == ["openid profile email"]
    answer = come_back(browser, provider.authorize(authorization, "sub-alice"))
    assert answer.status_code == 302, answer.text
    assert answer.headers["location"] == "/harbor/projects"
    me = browser.get(f"{API}/users/current").json()
    assert me["username"] == "alice" and me["email"] == "alice@example.com" and me["realname"] == "Alice A"
    assert me["oidc_user_meta"]["subiss"] == "sub-alice" + provider.url
    assert me["sysadmin_flag"] is False and me["admin_role_in_auth"] is False
    assert http.get(API + "/users", params={"username": "alice"}).json()[0]["username"] == "alice"
    # a second sign-in is the same user (linked by subject), not a new one
    browser.cookies.clear()
    assert sign_in(browser, provider, "sub-alice").status_code == 302
    assert browser.get(f"{API}/users/current").json()["user_id"] == me["user_id"]


def test_the_admin_group_makes_an_administrator_while_the_user_is_in_it(http, browser, provider):
    configure(http, provider)
    provider.set_user("sub-ada", preferred_username="ada", groups=["registry-admins", "x"])
    assert sign_in(browser, provider, "sub-ada").status_code == 302
    me = browser.get(f"{API}/users/current").json()
    assert me["admin_role_in_auth"] is True
    assert browser.get(f"{API}/configurations").status_code == 200  # an administrator's route
    provider.set_user("sub-ada", preferred_username="ada", groups=["x"])
    browser.cookies.clear()
    assert sign_in(browser, provider, "sub-ada").status_code == 302
    assert browser.get(f"{API}/users/current").json()["admin_role_in_auth"] is False
    assert browser.get(f"{API}/configurations").status_code == 403


def test_the_group_filter_decides_which_groups_count(http, browser, provider, registry):
    configure(http, provider, oidc_group_filter="^team-")
    seen = []
    registry.oidc.record_groups = lambda username, groups: seen.append((username, groups))
    provider.set_user("sub-fil", preferred_username="fil", groups=["team-a", "registry-admins", "team-b"])
    assert sign_in(browser, provider, "sub-fil").status_code == 302
    assert seen == [("fil", [("team-a", ""), ("team-b", "")])]
    assert browser.get(f"{API}/users/current").json()["admin_role_in_auth"] is False  # filtered out


def test_a_username_claim_naming_the_admin_never_signs_in_as_the_admin(http, browser, provider, registry):
    configure(http, provider)
    provider.set_user("sub-mallory", preferred_username="admin")
    head = registry.app.head()
    answer = sign_in(browser, provider, "sub-mallory")
    assert answer.status_code == 409, answer.text
    assert "sid" not in browser.cookies
    assert registry.app.head() == head
    assert browser.get(f"{API}/users/current").status_code == 401


def test_a_wrong_state_is_refused_creates_nothing_and_is_a_failed_sign_in(http, browser, provider, registry):
    from tests.integration.sign_in_flows import recorded_events

    configure(http, provider)
    provider.set_user("sub-bob", preferred_username="bob")
    callback = provider.authorize(start(browser), "sub-bob")
    answer = come_back(browser, callback.replace("state=", "state=x"))
    assert answer.status_code == 400 and "state" in answer.json()["errors"][0]["message"]
    assert "sid" not in browser.cookies
    # a callback without this browser's flow cookie (another browser's code) is refused too
    browser.cookies.clear()
    assert come_back(browser, callback).status_code == 400
    assert http.get(API + "/users", params={"username": "bob"}).json() == []  # nobody onboarded
    # both are failed sign-ins on record, with the client's address (issue 17 section 6)
    registry.sign_ins.flush()
    failures = [f for e in recorded_events(registry) for f in e.failures]
    assert [(f["door"], f["known"]) for f in failures] == [("oidc", False), ("oidc", False)]
    assert all(f["client_ip"] for f in failures)


def test_a_wrong_nonce_or_a_tampered_id_token_is_refused(http, provider, registry):
    from domain.errors import Unauthorized
    from infra.auth.oidc_provider import Flow, new_flow

    configure(http, provider)
    oidc = registry.oidc
    settings = oidc.settings()
    provider.set_user("sub-eve", preferred_username="eve")

    def code_for(flow: Flow) -> str:
        url = oidc.provider.authorization_url(settings, flow, ORIGIN + "/c/oidc/callback", {})
        return parse_qs(urlsplit(provider.authorize(url, "sub-eve")).query)["code"][0]

    flow = new_flow()
    code = code_for(flow)
    with pytest.raises(Unauthorized, match="nonce"):
        oidc.provider.exchange(settings, code, flow._replace(nonce="another"), ORIGIN + "/c/oidc/callback")
    flow = new_flow()
    tokens = oidc.provider.exchange(settings, code_for(flow), flow, ORIGIN + "/c/oidc/callback")
    header, payload, signature = tokens.id_token.split(".")
    import base64

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "sub-alice"}).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthorized, match="not valid"):
        oidc.provider.verify_id_token(settings, f"{header}.{forged}.{signature}", nonce=flow.nonce)
    with pytest.raises(Unauthorized, match="audience"):
        oidc.provider.verify_id_token(settings._replace(client_id="another-client"), tokens.id_token, nonce=None)
    unsigned = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    with pytest.raises(Unauthorized, match="algorithm"):
        oidc.provider.verify_id_token(settings, f"{unsigned}.{payload}.", nonce=None)


def test_without_auto_onboard_the_user_picks_a_name_on_the_onboarding_step(http, browser, provider, registry):
    configure(http, provider, oidc_auto_onboard=False)
    provider.set_user("sub-carol", preferred_username="carol")
    answer = sign_in(browser, provider, "sub-carol")
    assert answer.status_code == 302
    location = urlsplit(urlsplit(answer.headers["location"]).fragment)
    assert location.path == "/oidc-onboard" and parse_qs(location.query)["username"] == ["carol"]
    assert "sid" not in browser.cookies and registry.iam_queries.user("carol") is None
    assert browser.post("/c/oidc/onboard", json={"username": "bad name"}).status_code == 400
    assert browser.post("/c/oidc/onboard", json={"username": "admin"}).status_code == 409
    done = browser.post("/c/oidc/onboard", json={"username": "carol-c"}, headers={"origin": ORIGIN})
    assert done.status_code == 200, done.text
    assert done.json() == {"redirect_url": "/harbor/projects"}
    assert browser.get(f"{API}/users/current").json()["username"] == "carol-c"
    # without the browser's onboarding cookie there is nothing to onboard
    with TestClient(browser.app, base_url=ORIGIN) as stranger:
        assert stranger.post("/c/oidc/onboard", json={"username": "x-y"}).status_code == 400


def _user_id(http, name):
    return http.get(API + "/users/search", params={"username": name}).json()[0]["user_id"]


def test_the_cli_secret_is_the_password_at_the_token_service_and_a_wrong_one_fails(http, browser, provider):
    configure(http, provider)
    provider.set_user("sub-dan", preferred_username="dan")
    assert sign_in(browser, provider, "sub-dan").status_code == 302
    csrf = browser.cookies["__csrf"]
    user_id = browser.get(f"{API}/users/current").json()["user_id"]
    answer = browser.put(f"{API}/users/{user_id}/cli_secret", json={"secret": CLI_SECRET},
                         headers={"x-harbor-csrf-token": csrf})
    assert answer.status_code == 200, answer.text
    ok = http.get("/service/token", params={"service": "tidemark", "scope": "repository:library/x:pull"},
                  headers={"authorization": basic("dan", CLI_SECRET)})
    assert ok.status_code == 200 and ok.json()["token"]
    wrong = http.get("/service/token", headers={"authorization": basic("dan", "Wrong-Secret-1")})
    assert wrong.status_code == 401
    me = http.get(f"{API}/users/current", headers={"authorization": basic("dan", CLI_SECRET)})
    assert me.status_code == 200 and me.json()["username"] == "dan"
    # the admin, a database user, keeps signing in with a password beside OIDC
    assert http.get("/service/token", headers={"authorization": basic("admin", ADMIN_PASSWORD)}).status_code == 200


def test_a_refresh_refused_upstream_ends_cli_access(http, browser, provider, registry):
    configure(http, provider)
    provider.set_user("sub-fay", preferred_username="fay", groups=["registry-admins"])
    assert sign_in(browser, provider, "sub-fay").status_code == 302
    user_id = _user_id(http, "fay")
    assert http.put(f"{API}/users/{user_id}/cli_secret", json={"secret": CLI_SECRET}).status_code == 200
    fay = {"authorization": basic("fay", CLI_SECRET)}
    tokens = registry.oidc.tokens
    later = time.time() + 7200  # the stored token's lifetime (an hour) is over
    tokens.clock = lambda: later
    # still vouched for: the refresh succeeds, and it sees the groups as they are now
    provider.set_user("sub-fay", preferred_username="fay", groups=[])
    assert http.get("/service/token", headers=fay).status_code == 200
    assert http.get(f"{API}/users/current", headers=fay).json()["admin_role_in_auth"] is False
    later += 7200
    provider.revoke("sub-fay")  # disabled at the provider
    assert http.get("/service/token", headers=fay).status_code == 401
    assert tokens.load("fay") is None
    ended = [e for e in registry.app.recorder.select_notifications(start=1, limit=100_000)
             if e.topic.endswith("User.UpstreamAccessEnded")]
    assert len(ended) == 1
    assert http.get("/service/token", headers=fay).status_code == 401  # and stays refused
    # until the user signs in through the provider again
    browser.cookies.clear()
    assert sign_in(browser, provider, "sub-fay").status_code == 302
    assert http.get("/service/token", headers=fay).status_code == 200


def test_the_client_secret_is_never_answered_nor_in_the_log_in_clear(http, browser, provider, registry):
    configure(http, provider)
    provider.set_user("sub-gil", preferred_username="gil")
    assert sign_in(browser, provider, "sub-gil").status_code == 302
    assert CLIENT_SECRET not in http.get(CONFIG).text
    assert "oidc_client_secret" not in http.get(CONFIG).json()
    events = registry.app.recorder.select_notifications(start=1, limit=100_000)
    assert events and all(CLIENT_SECRET.encode() not in bytes(e.state) for e in events)
    stored = registry.db.read("SELECT sealed FROM oidc_tokens WHERE username = 'gil'")
    assert stored and stored[0][0].startswith("sealed:v1:")  # the refresh token too


def test_systeminfo_names_the_provider_for_the_sign_in_button(http, browser, provider):
    assert "oidc_provider_name" not in browser.get(f"{API}/systeminfo").json()
    configure(http, provider)
    info = browser.get(f"{API}/systeminfo").json()
    assert info["auth_mode"] == "oidc_auth" and info["oidc_provider_name"] == "Dex"


def test_ping_answers_200_for_a_provider_and_a_clear_400_otherwise(http, provider):
    assert http.post(f"{API}/system/oidc/ping", json={"url": provider.url}).status_code == 200
    bad = http.post(f"{API}/system/oidc/ping", json={"url": "http://127.0.0.1:9"})
    assert bad.status_code == 400 and "cannot reach" in bad.json()["errors"][0]["message"]
    assert http.post(f"{API}/system/oidc/ping", json={"url": "file:///etc/passwd"}).status_code == 400
    not_oidc = http.post(f"{API}/system/oidc/ping", json={"url": provider.url + "/nothing-here"})
    assert not_oidc.status_code == 400


def test_login_is_refused_while_the_auth_mode_is_not_oidc(browser):
    answer = browser.get("/c/oidc/login", follow_redirects=False)
    assert answer.status_code == 412 and "db_auth" in answer.json()["errors"][0]["message"]


def test_sign_out_sends_the_browser_to_the_providers_end_session(http, browser, provider):
    configure(http, provider, oidc_logout=True)
    provider.set_user("sub-hal", preferred_username="hal")
    assert sign_in(browser, provider, "sub-hal").status_code == 302
    out = browser.post("/c/log_out", headers={"x-harbor-csrf-token": browser.cookies["__csrf"]})
    assert out.status_code == 200
    assert out.json()["redirect_url"].startswith(provider.url + "/oauth2/end_session?id_token_hint=")
    assert browser.get(f"{API}/users/current").status_code == 401


def test_the_groups_claim_makes_user_groups_whose_project_roles_the_user_holds(http, browser, provider):
    """Issue 17 §4 with §3: the provider's groups become OIDC user groups at sign-in; a group
    that is a project member gives its role to the user (here through the CLI secret at the
    token service), and a sign-in without the group takes it away."""
    configure(http, provider)
    assert http.post(f"{API}/projects", json={"project_name": "crew", "metadata": {"public": "false"}}).status_code == 201
    provider.set_user("sub-gus", preferred_username="gus", groups=["builders", "readers"])
    assert sign_in(browser, provider, "sub-gus").status_code == 302
    groups = {g["group_name"]: g for g in http.get(f"{API}/usergroups", params={"page_size": 100}).json()}
    assert groups["builders"]["group_type"] == 3 and groups["readers"]["group_type"] == 3
    assert http.post(f"{API}/projects/crew/members", json={
        "role_id": 2, "member_group": {"id": groups["builders"]["id"]}}).status_code == 201
    assert http.put(f"{API}/users/{_user_id(http, 'gus')}/cli_secret", json={"secret": CLI_SECRET}).status_code == 200
    gus = {"authorization": basic("gus", CLI_SECRET)}
    scope = {"service": "tidemark", "scope": "repository:crew/app:pull,push"}

    def granted() -> set:
        import base64

        token = http.get("/service/token", params=scope, headers=gus).json()["token"]
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        return {a for entry in claims["access"] for a in entry["actions"]}

    assert granted() == {"pull", "push"}  # developer through the group
    assert http.get(f"{API}/projects/crew", headers=gus).status_code == 200
    provider.set_user("sub-gus", preferred_username="gus", groups=["readers"])
    browser.cookies.clear()
    assert sign_in(browser, provider, "sub-gus").status_code == 302
    assert granted() == set()
    assert http.get(f"{API}/projects/crew", headers=gus).status_code == 403
