"""Keyless CI robots (ADR 0045), the exchange: a CI job signs in as a robot with the ID token
its CI system gave it, at the token service (`docker login -u robot$... -p $ID_TOKEN`). The
issuer is a real HTTP server the tests start (tests/integration/workload_issuer.py: it lets a
test sign what it wants, expired tokens and foreign keys included); one test takes its token
from oidc-provider-mock, a real provider. The trust policies themselves:
test_keyless_robot_trust.py."""

import hashlib
import json
import time

import jwt
import msgspec
import pytest

from tests.integration.iam_helpers import API, as_user, create_project, jwt_part, robot_body
from tests.integration.keyless_world import (  # noqa: F401 - fixtures
    PUSH_PULL, ROBOT, backend, bearer, exchange, issuer, policy, provider, provider_id_token, robot,
    settings, stranger,
)
from tests.integration.sign_in_flows import in_parallel, recorded_events
from tests.integration.workload_issuer import new_key


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
    "its own key in the header": (lambda i, s: i.mint(key=OTHER_KEY, headers={
        "jwk": json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(OTHER_KEY.public_key())),
        "jku": s.url + "/jwks"}), "InvalidSignatureError"),
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
