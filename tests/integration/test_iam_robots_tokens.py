"""Robot accounts, the Docker token service and bearer tokens on /v2/ (sign-in throttling:
test_sign_in_throttle.py)."""

import hashlib
import hmac
import json
import time
from datetime import datetime
from types import SimpleNamespace

import pytest

import domain.iam.access
from tests.integration.test_iam_users import (
    API, IamTests, add_member, anonymous, as_user, b64url, create_project, create_user, errors,
    jwt_part,
)

DAY = 86400
UPLOADS = "/v2/alpha/x/blobs/uploads/"
CHALLENGE = 'Bearer realm="http://registry.test/service/token",service="tidemark"'


@pytest.fixture
def backend():
    return "sqlite"


def robot_body(project: str, name: str = "ci", access=(("repository", "pull"),), **extra) -> dict:
    """A RobotCreate for a project robot holding `access` in `project`."""
    return {"name": name, "level": "project", "duration": -1, "description": "CI pulls",
            "permissions": [{"kind": "project", "namespace": project,
                             "access": [{"resource": r, "action": a} for r, a in access]}],
            **extra}


def bearer(token: str) -> dict:
    return {"authorization": f"Bearer {token}"}


def token_for(http, scope: str | list[str], headers: dict | None = None, anonymously: bool = False):
    """GET /service/token as a Docker client asks for it: as admin, as `headers` say,
    or with no credentials at all."""
    params = {"service": "tidemark", "scope": scope}
    if anonymously:
        return anonymous(http, "GET", "/service/token", params=params)
    return http.get("/service/token", params=params, headers=headers)


def granted(response) -> list[dict]:
    """The `access` claim of the token in a token-service answer."""
    assert response.status_code == 200, response.text
    return jwt_part(response.json()["token"], 1)["access"]


def repo_access(name: str, *actions: str) -> list[dict]:
    return [{"type": "repository", "name": name, "actions": list(actions)}]


class TestRobots(IamTests):
    @pytest.fixture
    def alpha(self, http, oci):
        """Private project `alpha` administered by alice, holding alpha/app:v1."""
        create_user(http, "alice")
        create_project(http, "alpha", headers=as_user("alice"))
        oci.push_image("alpha/app", "v1")

    @pytest.fixture
    def robot(self, http, alpha) -> dict:
        """alice's pull-only robot in alpha: the RobotCreated body."""
        response = http.post(f"{API}/robots", headers=as_user("alice"), json=robot_body("alpha"))
        assert response.status_code == 201, response.text
        return response.json()

    def test_permissions_lists_what_a_robot_may_hold(self, http):
        response = http.get(f"{API}/permissions")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"system", "project"}
        assert {"resource": "repository", "action": "pull"} in body["project"]
        assert {"resource": "repository", "action": "push"} in body["project"]
        assert {"resource": "member", "action": "create"} not in body["project"]
        assert {"resource": "catalog", "action": "read"} in body["system"]
        assert all(set(p) == {"resource", "action"} for p in body["system"] + body["project"])
        assert anonymous(http, "GET", f"{API}/permissions").status_code == 401

    def test_project_robot_is_created_with_its_secret_shown_once(self, http, alpha):
        # when
        before = int(time.time())
        response = http.post(f"{API}/robots", headers=as_user("alice"), json=robot_body("alpha"))
        # then
        assert response.status_code == 201
        body = response.json()
        assert set(body) >= {"id", "name", "secret", "creation_time", "expires_at"}
        assert body["name"] == "robot$alpha+ci"
        assert isinstance(body["id"], int) and body["secret"]
        assert body["expires_at"] == -1
        assert datetime.fromisoformat(body["creation_time"]).timestamp() >= before - 1
        assert response.headers["location"] == f"{API}/robots/{body['id']}"
        fetched = http.get(f"{API}/robots/{body['id']}", headers=as_user("alice"))
        assert fetched.status_code == 200
        robot = fetched.json()
        assert "secret" not in robot and body["secret"] not in fetched.text
        assert (robot["id"], robot["name"], robot["level"], robot["disable"], robot["duration"]) == \
            (body["id"], "robot$alpha+ci", "project", False, -1)
        assert robot["permissions"] == [{"kind": "project", "namespace": "alpha", "access": [
            {"resource": "repository", "action": "pull", "effect": "allow"}]}]

    def test_robot_list_never_shows_secrets(self, http, robot):
        project_id = http.get(f"{API}/projects/alpha").json()["project_id"]
        response = http.get(f"{API}/robots", headers=as_user("alice"),
                            params={"q": f"Level=project,ProjectID={project_id}"})
        assert response.status_code == 200
        assert [r["name"] for r in response.json()] == ["robot$alpha+ci"]
        assert robot["secret"] not in response.text and '"secret"' not in response.text

    def test_pull_robot_pulls_but_cannot_push(self, http, robot):
        # given
        creds = as_user(robot["name"], robot["secret"])
        # then: pull-type requests work
        assert http.get("/v2/", headers=creds).status_code == 200
        assert http.get("/v2/alpha/app/manifests/v1", headers=creds).status_code == 200
        assert http.get("/v2/alpha/app/tags/list", headers=creds).json()["tags"] == ["v1"]
        # and a push is denied
        refused = http.post(UPLOADS, headers=creds)
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["code"] == "DENIED"

    def test_robot_cannot_reach_another_private_project(self, http, oci, robot):
        create_project(http, "beta")
        oci.push_image("beta/app", "v1")
        creds = as_user(robot["name"], robot["secret"])
        assert http.get("/v2/beta/app/manifests/v1", headers=creds).status_code == 403

    def test_robot_has_no_user_profile(self, http, robot):
        response = http.get(f"{API}/users/current", headers=as_user(robot["name"], robot["secret"]))
        assert response.status_code == 403

    def test_refreshed_secret_works(self, http, robot):
        # when
        response = http.patch(f"{API}/robots/{robot['id']}", headers=as_user("alice"), json={})
        # then
        assert response.status_code == 200
        new = response.json()["secret"]
        assert new and new != robot["secret"]
        assert http.get("/v2/alpha/app/tags/list", headers=as_user(robot["name"], new)).status_code == 200
        assert "secret" not in http.get(f"{API}/robots/{robot['id']}").json()

    def test_refreshed_secret_of_an_unused_robot_replaces_the_old_one(self, http, robot):
        http.patch(f"{API}/robots/{robot['id']}", headers=as_user("alice"), json={})
        old = http.get("/v2/alpha/app/tags/list", headers=as_user(robot["name"], robot["secret"]))
        assert old.status_code == 401

    def test_old_secret_stops_working_after_a_refresh(self, http, robot):
        # given: the robot has been pulling with its secret
        old = as_user(robot["name"], robot["secret"])
        assert http.get("/v2/alpha/app/tags/list", headers=old).status_code == 200
        # when
        assert http.patch(f"{API}/robots/{robot['id']}", headers=as_user("alice"), json={}).status_code == 200
        # then
        assert http.get("/v2/alpha/app/tags/list", headers=old).status_code == 401

    def test_refresh_with_a_chosen_secret(self, http, robot):
        response = http.patch(f"{API}/robots/{robot['id']}", headers=as_user("alice"),
                              json={"secret": "Chosen-Secret1"})
        assert response.status_code == 200 and response.json() == {"secret": "Chosen-Secret1"}
        assert http.get("/v2/alpha/app/tags/list",
                        headers=as_user(robot["name"], "Chosen-Secret1")).status_code == 200
        weak = http.patch(f"{API}/robots/{robot['id']}", headers=as_user("alice"), json={"secret": "weak"})
        assert weak.status_code == 400

    def test_disabled_robot_is_refused(self, http, robot):
        # given: the robot has been pulling
        creds = as_user(robot["name"], robot["secret"])
        assert http.get("/v2/alpha/app/tags/list", headers=creds).status_code == 200
        # when
        response = http.put(f"{API}/robots/{robot['id']}", headers=as_user("alice"),
                            json=robot_body("alpha", disable=True))
        # then
        assert response.status_code == 200
        assert http.get(f"{API}/robots/{robot['id']}").json()["disable"] is True
        assert http.get("/v2/alpha/app/tags/list", headers=creds).status_code == 401
        assert token_for(http, "repository:alpha/app:pull", headers=creds).status_code == 401

    def test_robot_with_a_duration_expires_after_that_many_days(self, http, alpha, monkeypatch):
        # given
        before = int(time.time())
        response = http.post(f"{API}/robots", headers=as_user("alice"),
                             json=robot_body("alpha", name="brief", duration=1))
        after = int(time.time())
        assert response.status_code == 201
        created = response.json()
        # then: it expires a day from now
        assert before + DAY <= created["expires_at"] <= after + DAY
        assert http.get(f"{API}/robots/{created['id']}").json()["expires_at"] == created["expires_at"]
        creds = as_user(created["name"], created["secret"])
        assert http.get("/v2/alpha/app/tags/list", headers=creds).status_code == 200
        # when the day has passed (as the access rules see the clock)
        later = created["expires_at"] + 1
        monkeypatch.setattr(domain.iam.access, "time", SimpleNamespace(time=lambda: later))
        # then
        assert http.get("/v2/alpha/app/tags/list", headers=creds).status_code == 401
        assert token_for(http, "repository:alpha/app:pull", headers=creds).status_code == 401

    @pytest.mark.parametrize("duration", [0, -2, 36501])
    def test_bad_durations_are_refused(self, http, alpha, duration):
        response = http.post(f"{API}/robots", headers=as_user("alice"),
                             json=robot_body("alpha", duration=duration))
        assert response.status_code == 400

    @pytest.mark.parametrize("access", [[("member", "create")], [("user", "list")],
                                        [("repository", "pull"), ("robot", "create")],
                                        [("repository", "fly")]])
    def test_permission_outside_the_robot_matrix_is_refused(self, http, alpha, access):
        # when
        response = http.post(f"{API}/robots", headers=as_user("alice"),
                             json=robot_body("alpha", access=access))
        # then
        assert response.status_code == 400
        assert errors(response) == ["BAD_REQUEST"]
        assert http.get(f"{API}/robots").json() == []

    def test_project_robot_cannot_name_two_projects(self, http, alpha):
        create_project(http, "beta", headers=as_user("alice"))
        body = robot_body("alpha")
        body["permissions"].append({"kind": "project", "namespace": "beta",
                                    "access": [{"resource": "repository", "action": "pull"}]})
        response = http.post(f"{API}/robots", headers=as_user("alice"), json=body)
        assert response.status_code == 400
        assert http.get(f"{API}/robots").json() == []

    def test_project_robot_cannot_hold_every_project(self, http, alpha):
        # `*` names no project: refused as a bad request or as an unknown project
        response = http.post(f"{API}/robots", json=robot_body("*"))
        assert response.status_code in (400, 404)
        assert http.get(f"{API}/robots").json() == []

    def test_project_admin_cannot_make_a_robot_in_another_users_project(self, http, alpha):
        # given: beta belongs to bob; alice is no member
        create_user(http, "bob")
        create_project(http, "beta", headers=as_user("bob"))
        # when
        response = http.post(f"{API}/robots", headers=as_user("alice"), json=robot_body("beta"))
        # then: refused, and as for any private project she cannot see, not told it exists
        assert response.status_code == 404
        assert http.get(f"{API}/robots").json() == []

    def test_a_developer_cannot_create_robots(self, http, alpha):
        create_user(http, "bob")
        add_member(http, "alpha", "bob", 2, headers=as_user("alice"))
        response = http.post(f"{API}/robots", headers=as_user("bob"), json=robot_body("alpha"))
        assert response.status_code == 403

    def test_duplicate_robot_name_conflicts(self, http, robot):
        response = http.post(f"{API}/robots", headers=as_user("alice"), json=robot_body("alpha"))
        assert response.status_code == 409

    def test_a_deleted_robots_name_can_be_used_again(self, http, robot):
        # given
        assert http.delete(f"{API}/robots/{robot['id']}", headers=as_user("alice")).status_code == 200
        # when
        response = http.post(f"{API}/robots", headers=as_user("alice"), json=robot_body("alpha"))
        # then
        assert response.status_code == 201
        assert response.json()["name"] == "robot$alpha+ci"

    def test_deleted_robot_is_gone_and_refused(self, http, robot):
        creds = as_user(robot["name"], robot["secret"])
        assert http.delete(f"{API}/robots/{robot['id']}", headers=as_user("alice")).status_code == 200
        assert http.get(f"{API}/robots/{robot['id']}").status_code == 404
        assert http.get("/v2/alpha/app/tags/list", headers=creds).status_code == 401


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
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["code"] == "DENIED"

    def test_token_for_one_repository_does_not_open_another(self, http, world):
        # given: bob may pull both, but asked only for alpha/app
        token = token_for(http, "repository:alpha/app:pull", headers=as_user("bob")).json()["token"]
        # when
        response = http.get("/v2/alpha/other/manifests/v1", headers=bearer(token))
        # then
        assert response.status_code == 403
        assert response.json()["errors"][0]["code"] == "DENIED"

    def test_anonymous_token_for_one_repository_is_challenged_on_another(self, http, world):
        token = token_for(http, "repository:library/app:pull", anonymously=True).json()["token"]
        assert http.get("/v2/library/app/manifests/v1", headers=bearer(token)).status_code == 200
        response = http.get("/v2/alpha/app/manifests/v1", headers=bearer(token))
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == CHALLENGE + ',scope="repository:alpha/app:pull"'

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
        assert response.headers["www-authenticate"].startswith("Bearer ")

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
