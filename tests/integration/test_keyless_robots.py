"""Keyless CI robots (ADR 0045): a robot trusts an outside OIDC issuer under conditions, and a
CI job signs in as the robot with the ID token its CI system gave it, at the token service
(`docker login -u robot$... -p $ID_TOKEN`). The issuer is a real HTTP server the tests start
(tests/integration/workload_issuer.py: it lets a test sign what it wants, expired tokens and
foreign keys included); one test takes its token from oidc-provider-mock, a real provider."""

import hashlib
import time

import jwt
import msgspec
import pytest

from tests.integration.iam_helpers import (
    API, add_member, as_user, create_project, create_user, jwt_part, robot_body, token_for,
)
from tests.integration.sign_in_flows import in_parallel, recorded_events
from tests.integration.workload_issuer import new_key, workload_issuer

ROBOT = "robot$p1+ci"
PUSH_PULL = (("repository", "pull"), ("repository", "push"))


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture
def settings(settings):
    return msgspec.structs.replace(settings, workload_issuer_allow_http_loopback=True)


@pytest.fixture(scope="module")
def issuer():
    with workload_issuer() as server:
        yield server


@pytest.fixture(scope="module")
def stranger():
    """Another issuer nobody trusts."""
    with workload_issuer() as server:
        yield server


def policy(server, **overrides) -> dict:
    return {"issuer": server.url, "audience": "tidemark", "subject": "repo:org/app:ref:refs/heads/*",
            "claims": {"repository_owner": "org"}, **overrides}


@pytest.fixture
def robot(http, oci, issuer) -> dict:
    """p1 (private) with an image, p2 with one; robot$p1+ci may pull and push in p1 and trusts
    the issuer's tokens for org/app's branches."""
    for project in ("p1", "p2"):
        create_project(http, project)
        oci.push_image(f"{project}/app", "v1", layers=1)
    body = http.post(f"{API}/robots", json=robot_body("p1", access=PUSH_PULL)).json()
    answer = http.put(f"{API}/robots/{body['id']}/trust", json={"policies": [policy(issuer)]})
    assert answer.status_code == 200, answer.text
    return body


def exchange(http, id_token: str, scope="repository:p1/app:pull,push", name=ROBOT):
    return token_for(http, scope, headers=as_user(name, id_token))


def bearer(token: str) -> dict:
    return {"authorization": f"Bearer {token}"}


def test_a_matching_id_token_gets_a_registry_token_for_what_the_robot_may(http, robot, issuer):
    id_token = issuer.mint(exp=int(time.time()) + 120)
    answer = exchange(http, id_token, ["repository:p1/app:pull,push,delete", "repository:p2/app:pull"])
    assert answer.status_code == 200, answer.text
    claims = jwt_part(answer.json()["token"], 1)
    assert claims["sub"] == ROBOT
    assert claims["access"] == [{"type": "repository", "name": "p1/app", "actions": ["pull", "push"]},
                                {"type": "repository", "name": "p2/app", "actions": []}]
    # never longer than the ID token itself (the token lifetime is 30 minutes)
    assert answer.json()["expires_in"] <= 120 and claims["exp"] <= jwt_part(id_token, 1)["exp"]
    token = answer.json()["token"]
    data = b"built by CI"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    pushed = http.post(f"/v2/p1/app/blobs/uploads/?digest={digest}", content=data, headers=bearer(token))
    assert pushed.status_code == 201, pushed.text
    assert http.get(f"/v2/p1/app/blobs/{digest}", headers=bearer(token)).content == data
    assert http.get("/v2/p1/app/manifests/v1", headers=bearer(token)).status_code == 200
    # nothing beyond the robot's rights: no delete, nothing in p2
    assert http.delete(f"/v2/p1/app/blobs/{digest}", headers=bearer(token)).status_code == 401
    assert http.get("/v2/p2/app/manifests/v1", headers=bearer(token)).status_code == 401
    assert http.post(f"/v2/p2/app/blobs/uploads/?digest={digest}", content=data,
                     headers=bearer(token)).status_code == 401


def test_the_id_token_works_as_basic_password_on_v2_too_and_the_secret_keeps_working(http, robot, issuer):
    assert http.get("/v2/p1/app/manifests/v1", headers=as_user(ROBOT, issuer.mint())).status_code == 200
    assert http.get("/v2/p1/app/manifests/v1", headers=as_user(ROBOT, robot["secret"])).status_code == 200
    assert exchange(http, robot["secret"]).status_code == 200


OTHER_KEY = new_key()


def _now() -> int:
    return int(time.time())


# what the record says why: (the token, a part of the reason)
REFUSALS = {
    "another issuer": (lambda i, s: s.mint(), "issuer not trusted"),
    "another issuer claiming a trusted iss": (lambda i, s: s.mint(iss=i.url), "InvalidSignatureError"),
    "wrong audience": (lambda i, s: i.mint(aud="someone-else"), "(audience)"),
    "audience missing": (lambda i, s: i.mint(aud=None), "MissingRequiredClaimError"),
    "another repository": (lambda i, s: i.mint(sub="repo:org/evil:ref:refs/heads/main"), "subject does not match"),
    "a tag, not a branch": (lambda i, s: i.mint(sub="repo:org/app:ref:refs/tags/v1"), "subject does not match"),
    "subject prefix only": (lambda i, s: i.mint(sub="repo:org/app:ref:refs/heads"), "subject does not match"),
    "claim differs": (lambda i, s: i.mint(repository_owner="org2"), "claim repository_owner does not match"),
    "claim missing": (lambda i, s: i.mint(repository_owner=None), "claim repository_owner does not match"),
    "claim not a string": (lambda i, s: i.mint(repository_owner=["org"]),
                           "claim repository_owner does not match"),
    "expired": (lambda i, s: i.mint(iat=_now() - 900, nbf=_now() - 900, exp=_now() - 600), "has expired"),
    "not yet valid": (lambda i, s: i.mint(nbf=_now() + 600), "ImmatureSignatureError"),
    "issued in the future": (lambda i, s: i.mint(iat=_now() + 600), "ImmatureSignatureError"),
    "no expiry": (lambda i, s: i.mint(exp=None), "MissingRequiredClaimError"),
    "no subject": (lambda i, s: i.mint(sub=None), "MissingRequiredClaimError"),
    "signed by another key": (lambda i, s: i.mint(key=OTHER_KEY), "InvalidSignatureError"),
    "signed by a key the issuer does not publish": (lambda i, s: i.mint(key=OTHER_KEY, kid="key-9"),
                                                    "a key the provider does not publish"),
    "alg none": (lambda i, s: i.unsigned(), "algorithm is not accepted"),
    "HS256 with the public key": (lambda i, s: _hs256(i.public_pem(), i.claims()), "algorithm is not accepted"),
    "HS256 with a guess": (lambda i, s: i.mint(key="x" * 32, algorithm="HS256"), "algorithm is not accepted"),
    "signature replaced": (lambda i, s: i.mint().rsplit(".", 1)[0] + "." + "A" * 342,
                           "InvalidSignatureError"),
}


def _hs256(secret: bytes, claims: dict) -> str:
    """The classic confusion: HMAC keyed with the issuer's public key (pyjwt refuses to make it)."""
    import base64
    import hmac

    head = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT","kid":"key-1"}').rstrip(b"=")
    body = base64.urlsafe_b64encode(msgspec.json.encode(claims)).rstrip(b"=")
    mac = hmac.new(secret, head + b"." + body, hashlib.sha256).digest()
    return (head + b"." + body + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_token_that_does_not_match_is_refused_and_recorded_with_a_reason(http, registry, robot, issuer,
                                                                          stranger, case):
    make, why = REFUSALS[case]
    id_token = make(issuer, stranger)
    head = registry.app.head()
    answer = exchange(http, id_token)
    assert answer.status_code == 401, answer.text
    assert "token" not in answer.json()
    registry.sign_ins.flush()
    new = [registry.app.mapper.to_domain_event(n)
           for n in registry.app.recorder.select_notifications(start=head + 1, limit=100)]
    assert [type(e).__name__ for e in new] == ["Recorded"]  # the failure record, nothing else
    failure = new[0].failures[0]
    assert failure["name"] == ROBOT and failure["door"] == "token" and failure["known"] is True
    assert failure["reason"].startswith("workload identity: ") and why in failure["reason"]
    assert failure["client_ip"]


def test_the_record_and_the_log_never_hold_the_id_token(http, registry, robot, issuer, capsys):
    id_token = issuer.mint(aud="someone-else")
    assert exchange(http, id_token).status_code == 401
    registry.sign_ins.flush()
    signature = id_token.rsplit(".", 1)[1]
    events = recorded_events(registry)
    assert events and events[-1].failures[-1]["reason"] == "workload identity: the ID token is not for " \
                                                           "this client (audience)"
    rows = registry.app.recorder.select_notifications(start=1, limit=100_000)
    assert not any(signature.encode() in n.state for n in rows)
    out = capsys.readouterr()
    assert signature not in out.out + out.err


def test_failed_exchanges_are_throttled_like_wrong_secrets(http, robot, issuer):
    for _ in range(5):  # login_throttle_after
        assert exchange(http, issuer.mint(aud="nope")).status_code == 401
    answer = exchange(http, issuer.mint())
    assert answer.status_code == 429, answer.text
    assert answer.headers["retry-after"]


def test_a_client_asking_in_parallel_with_one_id_token_is_not_throttled(http, robot, issuer):
    """docker and skopeo ask the token service for several scopes at once."""
    id_token = issuer.mint()
    answers = in_parallel(lambda n: exchange(http, id_token, f"repository:p1/app{n}:pull"), 12)
    assert [a.status_code for a in answers] == [200] * 12


def test_one_refused_token_sent_in_parallel_counts_once(http, registry, robot, issuer):
    id_token = issuer.mint(aud="nope")
    answers = in_parallel(lambda n: exchange(http, id_token, f"repository:p1/app{n}:pull"), 8)
    assert {a.status_code for a in answers} <= {401, 429} and 401 in {a.status_code for a in answers}
    registry.sign_ins.flush()
    failures = [f for e in recorded_events(registry) for f in e.failures]
    assert 1 <= len(failures) < 5  # those arriving together share one check
    assert exchange(http, issuer.mint()).status_code == 200  # far from the throttle's 5


def test_a_disabled_robot_is_refused(http, robot, issuer):
    body = robot_body("p1", access=PUSH_PULL, disable=True)
    assert http.put(f"{API}/robots/{robot['id']}", json=body).status_code == 200
    assert exchange(http, issuer.mint()).status_code == 401


def test_a_robot_deleted_and_made_again_under_the_name_trusts_nobody(http, robot, issuer):
    assert http.delete(f"{API}/robots/{robot['id']}").status_code == 200
    again = http.post(f"{API}/robots", json=robot_body("p1", access=PUSH_PULL)).json()
    assert again["name"] == ROBOT and again["id"] != robot["id"]
    assert http.get(f"{API}/robots/{again['id']}/trust").json()["policies"] == []
    assert exchange(http, issuer.mint()).status_code == 401
    # its own trust, once set, is its own
    assert http.put(f"{API}/robots/{again['id']}/trust",
                    json={"policies": [policy(issuer)]}).status_code == 200
    assert exchange(http, issuer.mint()).status_code == 200


def test_a_deleted_project_takes_its_robots_trust_along(http, robot, issuer):
    assert http.delete(f"{API}/projects/p1/repositories/app").status_code == 200
    assert http.delete(f"{API}/projects/p1").status_code == 200
    create_project(http, "p1")
    assert exchange(http, issuer.mint()).status_code == 401


def test_a_robot_without_trust_takes_no_id_token(http, oci, issuer):
    create_project(http, "p1")
    created = http.post(f"{API}/robots", json=robot_body("p1", access=PUSH_PULL)).json()
    assert exchange(http, issuer.mint(), name=created["name"]).status_code == 401


def test_several_policies_any_one_may_match(http, robot, issuer):
    policies = [policy(issuer, subject="repo:org/app:environment:prod", claims={}),
                policy(issuer, audience="other-aud", subject="", claims={"ref": "refs/heads/release"})]
    answer = http.put(f"{API}/robots/{robot['id']}/trust", json={"policies": policies})
    assert answer.status_code == 200, answer.text
    assert exchange(http, issuer.mint(sub="repo:org/app:environment:prod")).status_code == 200
    assert exchange(http, issuer.mint(aud=["x", "other-aud"], ref="refs/heads/release")).status_code == 200
    assert exchange(http, issuer.mint(aud="other-aud")).status_code == 401  # ref is main
    assert exchange(http, issuer.mint()).status_code == 401  # the branch policy is gone


def test_trust_is_answered_and_its_changes_are_robot_events(http, registry, robot, issuer):
    answer = http.get(f"{API}/robots/{robot['id']}/trust")
    assert answer.status_code == 200
    assert answer.json() == {"robot_id": robot["id"], "name": ROBOT, "policies": [policy(issuer)]}
    head = registry.app.head()
    same = http.put(f"{API}/robots/{robot['id']}/trust", json={"policies": [policy(issuer)]})
    assert same.status_code == 200
    assert registry.app.head() == head  # the same policies again: nothing to record
    assert http.put(f"{API}/robots/{robot['id']}/trust", json={"policies": []}).status_code == 200
    event = registry.app.mapper.to_domain_event(registry.app.recorder.select_notifications(start=head + 1,
                                                                                            limit=1)[0])
    assert type(event).__qualname__ == "Robot.TrustChanged" and event.policies == []
    assert event.actor == "admin"
    assert http.get(f"{API}/robots/{robot['id']}/trust").json()["policies"] == []


BAD = {
    "plain http elsewhere": {"issuer": "http://ci.example.com"},
    "no scheme": {"issuer": "ci.example.com"},
    "query": {"issuer": "https://ci.example.com/?x=1"},
    "credentials": {"issuer": "https://user:pw@ci.example.com"},
    "trailing slash": {"issuer": "https://ci.example.com/"},
    "too long": {"issuer": "https://ci.example.com/" + "a" * 300},
    "control character": {"subject": "repo:org/app\n"},
    "wildcard only": {"subject": "*", "claims": {}},
    "wildcard only, with wildcard claim": {"subject": "**", "claims": {"ref": "*"}},
    "nothing about the workload": {"subject": "", "claims": {}},
    "no audience": {"audience": ""},
    "wildcard audience": {"audience": "*"},
    "reserved claim": {"claims": {"iss": "x"}},
    "bad claim name": {"claims": {"a b": "x"}},
    "claim not a string": {"claims": {"run_attempt": 1}},
    "unknown field": {"issuers": ["x"]},
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_policies_are_400_and_change_nothing(http, registry, robot, issuer, case):
    head = registry.app.head()
    answer = http.put(f"{API}/robots/{robot['id']}/trust", json={"policies": [policy(issuer, **BAD[case])]})
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["code"] == "BAD_REQUEST"
    assert registry.app.head() == head


def test_at_most_ten_policies(http, registry, robot, issuer):
    many = [policy(issuer, subject=f"repo:org/app{i}:*") for i in range(11)]
    assert http.put(f"{API}/robots/{robot['id']}/trust", json={"policies": many}).status_code == 400
    assert http.put(f"{API}/robots/{robot['id']}/trust", json={"policies": many[:10]}).status_code == 200


def test_only_who_may_update_the_robot_may_change_its_trust(http, registry, robot, issuer):
    create_user(http, "dave")
    add_member(http, "p1", "dave", 2)  # a developer: no robot rights
    create_user(http, "nora")
    create_project(http, "p3", headers=as_user("nora"))  # the admin of another project
    weaker = {"policies": [policy(issuer, subject="repo:dave/*")]}
    head = registry.app.head()
    for headers in (as_user("dave"), as_user("nora"), as_user(ROBOT, robot["secret"]),
                    as_user(ROBOT, issuer.mint())):
        answer = http.put(f"{API}/robots/{robot['id']}/trust", json=weaker, headers=headers)
        assert answer.status_code == 403, answer.text
    assert registry.app.head() == head
    # reading it takes what reading the robot takes (a developer may; another project's admin not)
    for who, code in (("dave", 200), ("nora", 403)):
        assert http.get(f"{API}/robots/{robot['id']}", headers=as_user(who)).status_code == code
        assert http.get(f"{API}/robots/{robot['id']}/trust", headers=as_user(who)).status_code == code
    # a project admin of p1 may
    add_member(http, "p1", "nora", 1)
    assert http.put(f"{API}/robots/{robot['id']}/trust", json=weaker,
                    headers=as_user("nora")).status_code == 200


def test_a_robot_id_beyond_any_is_404(http, robot):
    assert http.get(f"{API}/robots/{2**62}/trust").status_code == 404
    assert http.put(f"{API}/robots/{2**62}/trust", json={"policies": []}).status_code == 404


def test_an_unknown_key_id_fetches_the_keys_again_once(http, robot, issuer):
    assert exchange(http, issuer.mint()).status_code == 200
    before = issuer.fetches["jwks"]
    old_key, old_kid = issuer.key, issuer.kid
    issuer.key, issuer.kid = new_key(), "key-2"  # the issuer rotated
    try:
        assert exchange(http, issuer.mint()).status_code == 200
        assert issuer.fetches["jwks"] == before + 1
        # made-up key ids do not make us fetch again and again
        for _ in range(3):
            assert exchange(http, issuer.mint(key=new_key(), kid="key-x")).status_code == 401
        assert issuer.fetches["jwks"] <= before + 2
    finally:
        issuer.key, issuer.kid = old_key, old_kid


def test_an_issuer_answering_megabytes_is_not_read_whole(http, registry, robot, issuer):
    issuer.padding = 2 * 1024 * 1024
    try:
        assert exchange(http, issuer.mint()).status_code == 401
    finally:
        issuer.padding = 0
    registry.sign_ins.flush()
    assert recorded_events(registry)[-1].failures[-1]["reason"] == \
        "workload identity: the provider's signing keys cannot be read"
    assert exchange(http, issuer.mint()).status_code == 200  # a failed fetch is not kept


def test_a_long_lived_id_token_gets_no_more_than_the_token_lifetime(http, robot, issuer):
    answer = exchange(http, issuer.mint(exp=int(time.time()) + 24 * 3600))
    claims = jwt.decode(answer.json()["token"], options={"verify_signature": False})
    assert answer.json()["expires_in"] == 1800 and claims["exp"] - claims["iat"] == 1800


@pytest.fixture(scope="module")
def provider():
    from tests.integration.oidc_server import oidc_provider

    with oidc_provider() as server:
        yield server


def provider_id_token(provider, sub: str, audience: str) -> str:
    """An ID token as a real provider issues it: the code flow, with the audience as client id
    (oidc-provider-mock takes any client), for a subject whose claims `set_user` chose."""
    import httpx

    callback = "http://ci.test/callback"
    location = provider.authorize(f"{provider.url}/oauth2/authorize?client_id={audience}&response_type=code"
                                  f"&scope=openid&redirect_uri={callback}&state=s", sub)
    code = dict(p.split("=", 1) for p in location.split("?", 1)[1].split("&"))["code"]
    answer = httpx.post(f"{provider.url}/oauth2/token", auth=(audience, "any"), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": callback})
    assert answer.status_code == 200, answer.text
    return answer.json()["id_token"]


def test_an_id_token_from_a_real_provider_is_exchanged(http, robot, provider):
    """GitLab-shaped subjects: the mock's `PUT /users/{sub}` cannot take a `/` in a subject."""
    trust = {"policies": [{"issuer": provider.url, "audience": "tidemark-ci",
                           "subject": "project_path:org.app:ref_type:branch:ref:*",
                           "claims": {"namespace_path": "org"}}]}
    assert http.put(f"{API}/robots/{robot['id']}/trust", json=trust).status_code == 200
    provider.set_user("project_path:org.app:ref_type:branch:ref:main", namespace_path="org")
    provider.set_user("project_path:org.app:ref_type:branch:ref:dev", namespace_path="fork")
    good = provider_id_token(provider, "project_path:org.app:ref_type:branch:ref:main", "tidemark-ci")
    answer = exchange(http, good, "repository:p1/app:pull")
    assert answer.status_code == 200, answer.text
    assert jwt_part(answer.json()["token"], 1)["access"][0]["actions"] == ["pull"]
    # the same provider, another claim, another audience, another subject: refused
    assert exchange(http, provider_id_token(provider, "project_path:org.app:ref_type:branch:ref:dev", "tidemark-ci")
                    ).status_code == 401
    assert exchange(http, provider_id_token(provider, "project_path:org.app:ref_type:branch:ref:main", "other")
                    ).status_code == 401
    provider.set_user("project_path:org.evil:ref_type:branch:ref:main", namespace_path="org")
    assert exchange(http, provider_id_token(provider, "project_path:org.evil:ref_type:branch:ref:main", "tidemark-ci")
                    ).status_code == 401


def test_the_identity_view_rebuilt_has_the_same_trust(http, registry, robot, issuer):
    from projections.projector import checksum
    from projections.rebuild import rebuild

    other = http.post(f"{API}/robots", json=robot_body("p1", name="other", access=PUSH_PULL)).json()
    assert http.put(f"{API}/robots/{other['id']}/trust", json={"policies": [policy(issuer)]}).status_code == 200
    assert http.delete(f"{API}/robots/{other['id']}").status_code == 200
    registry.catch_up()
    projector = registry.iam_projector
    live = checksum(registry.db, projector.view.p, projector.view.tables)
    assert registry.db.read("SELECT COUNT(*) FROM iam_robot_trust")[0][0] == 1
    assert rebuild(registry.app, registry.db, type(projector.view), projector) == live


def test_a_system_robots_trust_is_the_administrators(http, registry, robot, issuer):
    create_user(http, "pam")
    add_member(http, "p1", "pam", 1)  # project admin of p1
    system = http.post(f"{API}/robots", json={"name": "sysci", "level": "system", "duration": -1, "permissions": [
        {"kind": "project", "namespace": "p1", "access": [{"resource": "repository", "action": "pull"}]}]}).json()
    trust = {"policies": [policy(issuer)]}
    head = registry.app.head()
    answer = http.put(f"{API}/robots/{system['id']}/trust", json=trust, headers=as_user("pam"))
    assert answer.status_code == 403, answer.text
    assert registry.app.head() == head
    assert http.put(f"{API}/robots/{system['id']}/trust", json=trust).status_code == 200
    answer = exchange(http, issuer.mint(), "repository:p1/app:pull,push", name=system["name"])
    assert answer.status_code == 200
    assert jwt_part(answer.json()["token"], 1)["access"][0]["actions"] == ["pull"]


class TestOnPostgres:
    """The same SQL on PostgreSQL: trust set, exchanged, gone with the robot, rebuilt alike."""

    @pytest.fixture
    def backend(self):
        return "postgres"

    def test_trust_exchange_and_recreation(self, http, registry, robot, issuer):
        test_a_matching_id_token_gets_a_registry_token_for_what_the_robot_may(http, robot, issuer)
        test_the_identity_view_rebuilt_has_the_same_trust(http, registry, robot, issuer)
        test_a_robot_deleted_and_made_again_under_the_name_trusts_nobody(http, robot, issuer)
