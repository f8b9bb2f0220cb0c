"""The Docker token service and bearer tokens on /v2/ (robot accounts: test_iam_robots.py;
sign-in throttling: test_sign_in_throttle.py)."""

import hashlib
import hmac
import json
import time
from datetime import datetime

import pytest

from tests.integration.iam_helpers import (
    API, IamTests, add_member, anonymous, as_user, b64url, create_project, create_user, errors,
    jwt_part, robot_body, token_for,
)

CHALLENGE = 'Bearer realm="http://registry.test/service/token",service="tidemark"'


@pytest.fixture
def backend():
    return "sqlite"


def bearer(token: str) -> dict:
    return {"authorization": f"Bearer {token}"}


def granted(response) -> list[dict]:
    """The `access` claim of the token in a token-service answer."""
    assert response.status_code == 200, response.text
    return jwt_part(response.json()["token"], 1)["access"]


def repo_access(name: str, *actions: str) -> list[dict]:
    return [{"type": "repository", "name": name, "actions": list(actions)}]


class TestTokenService(IamTests):
    @pytest.fixture
    def people(self, http):
        """Private `alpha` with bob as developer, carol as guest; dave belongs nowhere."""
        for name in ("bob", "carol", "dave"):
            create_user(http, name)
        create_project(http, "alpha")
        add_member(http, "alpha", "bob", 2)
        add_member(http, "alpha", "carol", 3)

    @pytest.fixture
    def world(self, http, oci, people):
        """`people`, with app:v1 in alpha and in the public `library`, and alpha/other:v1."""
        for repo in ("alpha/app", "alpha/other", "library/app"):
            oci.push_image(repo, "v1", layers=1)

    def test_anonymous_gets_only_pull_on_a_public_project(self, http, people):
        response = token_for(http, "repository:library/app:pull,push", anonymously=True)
        assert granted(response) == repo_access("library/app", "pull")
        assert jwt_part(response.json()["token"], 1)["sub"] == ""

    def test_developer_gets_pull_and_push(self, http, people):
        response = token_for(http, "repository:alpha/app:pull,push", headers=as_user("bob"))
        assert granted(response) == repo_access("alpha/app", "pull", "push")
        assert jwt_part(response.json()["token"], 1)["sub"] == "bob"

    def test_guest_gets_only_pull(self, http, people):
        response = token_for(http, "repository:alpha/app:pull,push", headers=as_user("carol"))
        assert granted(response) == repo_access("alpha/app", "pull")

    def test_non_member_gets_nothing_on_private_or_unknown_repositories(self, http, people):
        response = token_for(http, ["repository:alpha/app:pull,push", "repository:nope/app:pull"],
                             headers=as_user("dave"))
        assert granted(response) == repo_access("alpha/app") + repo_access("nope/app")

    def test_robot_gets_what_it_was_given(self, http, people):
        robot = http.post(f"{API}/robots", json=robot_body("alpha")).json()
        response = token_for(http, "repository:alpha/app:pull,push",
                             headers=as_user(robot["name"], robot["secret"]))
        assert granted(response) == repo_access("alpha/app", "pull")

    def test_catalog_scope_only_for_administrators(self, http, people):
        catalog = [{"type": "registry", "name": "catalog", "actions": ["*"]}]
        assert granted(token_for(http, "registry:catalog:*")) == catalog
        assert granted(token_for(http, "registry:catalog:*", headers=as_user("bob"))) == \
            [{"type": "registry", "name": "catalog", "actions": []}]
        assert granted(token_for(http, "registry:catalog:*", anonymously=True)) == \
            [{"type": "registry", "name": "catalog", "actions": []}]

    def test_answer_has_the_docker_token_fields(self, http, people):
        # when
        before = int(time.time())
        response = token_for(http, "repository:alpha/app:pull", headers=as_user("bob"))
        # then
        assert response.status_code == 200
        body = response.json()
        assert set(body) >= {"token", "access_token", "expires_in", "issued_at"}
        assert body["access_token"] == body["token"]
        assert isinstance(body["expires_in"], int) and body["expires_in"] >= 60
        issued = datetime.fromisoformat(body["issued_at"].replace("Z", "+00:00")).timestamp()
        assert before - 1 <= issued <= time.time() + 1
        header, claims = jwt_part(body["token"], 0), jwt_part(body["token"], 1)
        assert header["alg"] == "ES256" and header["kid"]
        assert (claims["aud"], claims["sub"]) == ("tidemark", "bob")
        assert claims["exp"] - claims["iat"] == body["expires_in"]

    @pytest.mark.parametrize("scope", ["repository:alpha/app", "repository:Alpha/App:pull",
                                       "repository:alpha/app:fly", "registry:catalog:pull",
                                       "garbage", "repository::pull"])
    def test_malformed_scope_is_refused(self, http, people, scope):
        response = token_for(http, scope, headers=as_user("bob"))
        assert response.status_code == 400
        assert errors(response)

    def test_at_most_50_scopes(self, http, people):
        scopes = [f"repository:alpha/r{i}:pull" for i in range(51)]
        assert token_for(http, scopes[:50], headers=as_user("bob")).status_code == 200
        response = token_for(http, scopes, headers=as_user("bob"))
        assert response.status_code == 400
        assert errors(response) == ["BAD_REQUEST"]

    def test_unknown_service_is_refused(self, http, people):
        response = http.get("/service/token", params={"service": "elsewhere",
                                                      "scope": "repository:alpha/app:pull"})
        assert response.status_code == 400

    def test_wrong_password_is_unauthorized(self, http, people):
        response = token_for(http, "repository:alpha/app:pull", headers=as_user("bob", "Wrong-Passw0rd"))
        assert response.status_code == 401
        assert errors(response) == ["UNAUTHORIZED"]
        assert "token" not in response.text

    @pytest.mark.parametrize("authorization", ["Basic !!!not-base64!!!", "Basic " + b64url(b"no-colon"),
                                               "Basic " + b64url(b":Empty-Name1"), "Basic", "Digest x=1"])
    def test_malformed_basic_header_is_unauthorized(self, http, people, authorization):
        response = token_for(http, "repository:alpha/app:pull", headers={"authorization": authorization})
        assert response.status_code == 401
        assert errors(response) == ["UNAUTHORIZED"]

    def test_token_opens_the_repository_it_names(self, http, world):
        pull = token_for(http, "repository:alpha/app:pull,push", headers=as_user("bob")).json()["token"]
        assert http.get("/v2/alpha/app/manifests/v1", headers=bearer(pull)).status_code == 200
        assert http.post("/v2/alpha/app/blobs/uploads/", headers=bearer(pull)).status_code == 202

    def test_guest_token_cannot_push(self, http, world):
        token = token_for(http, "repository:alpha/app:pull,push", headers=as_user("carol")).json()["token"]
        assert http.get("/v2/alpha/app/manifests/v1", headers=bearer(token)).status_code == 200
        refused = http.post("/v2/alpha/app/blobs/uploads/", headers=bearer(token))
        # a token without the scope is challenged for it (RFC 6750), as Distribution does
        assert refused.status_code == 401
        assert refused.json()["errors"][0]["code"] == "UNAUTHORIZED"
        assert refused.headers["www-authenticate"] == \
            CHALLENGE + ',scope="repository:alpha/app:pull,push",error="insufficient_scope"'
        # and asking again gets carol no push: the next try is refused the same way
        again = token_for(http, "repository:alpha/app:pull,push", headers=as_user("carol")).json()["token"]
        assert http.post("/v2/alpha/app/blobs/uploads/", headers=bearer(again)).status_code == 401

    def test_token_for_one_repository_does_not_open_another(self, http, world):
        # given: bob may pull both, but asked only for alpha/app
        token = token_for(http, "repository:alpha/app:pull", headers=as_user("bob")).json()["token"]
        # when
        response = http.get("/v2/alpha/other/manifests/v1", headers=bearer(token))
        # then
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == \
            CHALLENGE + ',scope="repository:alpha/other:pull",error="insufficient_scope"'

    def test_anonymous_token_for_one_repository_is_challenged_on_another(self, http, world):
        token = token_for(http, "repository:library/app:pull", anonymously=True).json()["token"]
        assert http.get("/v2/library/app/manifests/v1", headers=bearer(token)).status_code == 200
        response = http.get("/v2/alpha/app/manifests/v1", headers=bearer(token))
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == \
            CHALLENGE + ',scope="repository:alpha/app:pull",error="insufficient_scope"'

    def test_tampered_signature_is_unauthorized(self, http, world):
        token = token_for(http, "repository:alpha/app:pull", headers=as_user("bob")).json()["token"]
        head, payload, signature = token.split(".")
        middle = len(signature) // 2
        flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1:]
        response = http.get("/v2/alpha/app/manifests/v1", headers=bearer(f"{head}.{payload}.{flipped}"))
        assert response.status_code == 401
        assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"

    def test_tampered_claims_are_unauthorized(self, http, world):
        token = token_for(http, "repository:alpha/app:pull", headers=as_user("dave")).json()["token"]
        head, payload, signature = token.split(".")
        claims = jwt_part(token, 1)
        claims["access"] = repo_access("alpha/app", "pull")
        forged = f"{head}.{b64url(json.dumps(claims).encode())}.{signature}"
        assert http.get("/v2/alpha/app/manifests/v1", headers=bearer(forged)).status_code == 401

    def _forged(self, http, header: dict, sign) -> str:
        """dave's claims granting pull on alpha/app, with a header and signature of our own."""
        token = token_for(http, "repository:alpha/app:pull", headers=as_user("dave")).json()["token"]
        claims = {**jwt_part(token, 1), "access": repo_access("alpha/app", "pull")}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        return f"{signing_input}.{sign(signing_input.encode())}"

    def test_alg_none_token_is_unauthorized(self, http, registry, world):
        forged = self._forged(http, {"alg": "none", "typ": "JWT", "kid": registry.tokens.kid},
                              lambda data: "")
        response = http.get("/v2/alpha/app/manifests/v1", headers=bearer(forged))
        assert response.status_code == 401

    def test_hs256_token_signed_with_the_public_key_is_unauthorized(self, http, registry, world):
        from cryptography.hazmat.primitives import serialization

        public_pem = registry.tokens._public.public_bytes(  # what an attacker could know
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        forged = self._forged(http, {"alg": "HS256", "typ": "JWT", "kid": registry.tokens.kid},
                              lambda data: b64url(hmac.new(public_pem, data, hashlib.sha256).digest()))
        response = http.get("/v2/alpha/app/manifests/v1", headers=bearer(forged))
        assert response.status_code == 401

    def test_expired_token_is_unauthorized(self, http, registry, world):
        registry.tokens.lifetime = -10
        token = registry.tokens.issue("bob", repo_access("alpha/app", "pull"))["token"]
        response = http.get("/v2/alpha/app/manifests/v1", headers=bearer(token))
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == \
            CHALLENGE + ',scope="repository:alpha/app:pull",error="invalid_token"'

    def test_token_of_a_disabled_user_stops_working(self, http, world):
        token = token_for(http, "repository:alpha/app:pull", headers=as_user("bob")).json()["token"]
        assert http.get("/v2/alpha/app/manifests/v1", headers=bearer(token)).status_code == 200
        bob = http.get(f"{API}/users", params={"username": "bob"}).json()[0]["user_id"]
        http.put(f"{API}/users/{bob}/enabled", json={"enabled": False})
        assert http.get("/v2/alpha/app/manifests/v1", headers=bearer(token)).status_code == 401

    def test_token_of_a_deleted_user_stops_working(self, http, world):
        token = token_for(http, "repository:alpha/app:pull", headers=as_user("bob")).json()["token"]
        bob = http.get(f"{API}/users", params={"username": "bob"}).json()[0]["user_id"]
        assert http.delete(f"{API}/users/{bob}").status_code == 200
        assert http.get("/v2/alpha/app/manifests/v1", headers=bearer(token)).status_code == 401

    def test_unauthenticated_base_endpoint_challenges_for_a_bearer_token(self, http):
        response = anonymous(http, "GET", "/v2/")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == CHALLENGE

    def test_unauthenticated_pull_names_the_scope_in_its_challenge(self, http, world):
        response = anonymous(http, "GET", "/v2/alpha/app/manifests/v1")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == CHALLENGE + ',scope="repository:alpha/app:pull"'

    def test_base_endpoint_accepts_a_bearer_token(self, http, world):
        token = token_for(http, "repository:library/app:pull", anonymously=True).json()["token"]
        assert http.get("/v2/", headers=bearer(token)).status_code == 200
