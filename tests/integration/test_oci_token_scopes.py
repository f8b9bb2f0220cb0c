"""Bearer challenges on /v2/ as clients read them (ADR 0023): the scopes a request needs,
cross-repository mounts through the token flow, and 401 `insufficient_scope` for a token
that lacks a scope (403 stays for a caller the registry refuses whatever its token)."""

import json
import re

import pytest

from tests.integration.iam_helpers import (
    IamTests, add_member, anonymous, as_user, create_project, create_user, jwt_part, token_for,
)
from tests.integration.oci_client import OCI_MANIFEST, sha256

REALM = 'Bearer realm="http://registry.test/service/token",service="tidemark"'
LAYER = b"a layer both projects share"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def bearer(token: str) -> dict:
    return {"authorization": f"Bearer {token}"}


def challenge_scopes(response) -> list[str]:
    """The scopes of a Bearer challenge, split as oras-go and Docker's clients split them."""
    match = re.search(r'scope="([^"]*)"', response.headers["www-authenticate"])
    return match.group(1).split(" ") if match else []


def token(http, user: str, scopes: list[str]) -> str:
    response = token_for(http, scopes, headers=as_user(user))
    assert response.status_code == 200, response.text
    return response.json()["token"]


def mount_path(digest: str, target: str = "dst/app", source: str = "src/app") -> str:
    return f"/v2/{target}/blobs/uploads/?mount={digest}&from={source}"


def linked(http, repository: str) -> list[dict]:
    """The blob-link events of a repository in the event feed (as admin)."""
    events = http.get("/api/v2.0/events", params={"limit": 1000}).json()
    return [e["data"] for e in events if e["type"] == "io.tidemark.blob.linked.v1"
            and e["data"].get("repository") == repository]


class TestMountsThroughTokens(IamTests):
    @pytest.fixture
    def digest(self, http, oci):
        """Private `src` and `dst`; bob may pull src and push dst, dave may only push dst;
        src/app holds a layer."""
        for name in ("bob", "dave"):
            create_user(http, name)
        for project in ("src", "dst"):
            create_project(http, project)
        add_member(http, "src", "bob", 3)  # guest: pull
        add_member(http, "dst", "bob", 2)  # developer: pull and push
        add_member(http, "dst", "dave", 2)
        return oci.push_blob("src/app", LAYER)

    def test_challenge_names_target_push_and_source_pull(self, http, digest):
        response = anonymous(http, "POST", mount_path(digest))
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == \
            REALM + ',scope="repository:dst/app:pull,push repository:src/app:pull"'

    def test_token_for_the_challenged_scopes_mounts(self, http, digest):
        # given bob asks for what the challenge names
        scopes = challenge_scopes(anonymous(http, "POST", mount_path(digest)))
        issued = token(http, "bob", scopes)
        assert {"type": "repository", "name": "src/app", "actions": ["pull"]} in \
            jwt_part(issued, 1)["access"]
        # when
        response = http.post(mount_path(digest), headers=bearer(issued))
        # then the blob is mounted, not uploaded again
        assert response.status_code == 201, response.text
        assert response.headers["docker-content-digest"] == digest
        assert http.get(f"/v2/dst/app/blobs/{digest}", headers=bearer(issued)).content == LAYER
        assert [(e["digest"], e["mounted_from"]) for e in linked(http, "dst/app")] == [(digest, "src/app")]

    def test_token_without_source_pull_gets_an_upload_session(self, http, digest):
        # given dave's token for the challenged scopes holds no pull on src/app
        scopes = challenge_scopes(anonymous(http, "POST", mount_path(digest)))
        issued = token(http, "dave", scopes)
        assert {"type": "repository", "name": "src/app", "actions": []} in jwt_part(issued, 1)["access"]
        # when
        response = http.post(mount_path(digest), headers=bearer(issued))
        # then an ordinary upload starts, as for a blob src/app does not have
        assert response.status_code == 202
        assert "/v2/dst/app/blobs/uploads/" in response.headers["location"]
        assert http.head(f"/v2/dst/app/blobs/{digest}", headers=bearer(issued)).status_code == 404
        assert linked(http, "dst/app") == []
        # and the session it started can be cancelled with the push token
        assert http.delete(response.headers["location"], headers=bearer(issued)).status_code == 204

    def test_source_pull_must_be_in_the_token_itself(self, http, digest):
        # bob may pull src/app, but this token does not say so: no mount
        issued = token(http, "bob", ["repository:dst/app:pull,push"])
        response = http.post(mount_path(digest), headers=bearer(issued))
        assert response.status_code == 202
        assert linked(http, "dst/app") == []

    def test_mount_from_a_project_one_may_not_read_does_not_reveal_the_blob(self, http, digest):
        unknown = sha256(b"not in src/app")
        issued = token(http, "dave", ["repository:dst/app:pull,push", "repository:src/app:pull"])
        known = http.post(mount_path(digest), headers=bearer(issued))
        missing = http.post(mount_path(unknown), headers=bearer(issued))
        assert (known.status_code, missing.status_code) == (202, 202)

    def test_invalid_source_name_is_left_out_of_the_challenge(self, http, digest):
        response = anonymous(http, "POST", mount_path(digest, source='src/app" scope="x'))
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == REALM + ',scope="repository:dst/app:pull,push"'


ROUTES = [  # (method, path under /v2/alpha/app, the scope a token needs)
    ("GET", "/manifests/v1", "pull"), ("HEAD", "/manifests/v1", "pull"),
    ("GET", "/blobs/{digest}", "pull"), ("HEAD", "/blobs/{digest}", "pull"),
    ("GET", "/tags/list", "pull"), ("GET", "/referrers/{digest}", "pull"),
    ("GET", "/blobs/uploads/{upload}", "pull"),
    ("POST", "/blobs/uploads/", "pull,push"), ("PATCH", "/blobs/uploads/{upload}", "pull,push"),
    ("PUT", "/blobs/uploads/{upload}?digest={digest}", "pull,push"),
    ("DELETE", "/blobs/uploads/{upload}", "pull,push"),
    ("PUT", "/manifests/v2", "pull,push"),
    ("DELETE", "/manifests/v1", "delete"), ("DELETE", "/blobs/{digest}", "delete"),
]


class TestInsufficientScope(IamTests):
    @pytest.fixture
    def world(self, http, oci):
        """Private `alpha` with alpha/app:v1; bob is its maintainer (pull, push, delete)."""
        create_user(http, "bob")
        create_project(http, "alpha")
        add_member(http, "alpha", "bob", 4)
        digest, _ = oci.push_image("alpha/app", "v1", layers=1)
        upload = http.post("/v2/alpha/app/blobs/uploads/").headers["docker-upload-uuid"]
        return {"digest": digest, "upload": upload}

    @pytest.mark.parametrize("method,path,needed", ROUTES)
    def test_token_lacking_the_scope_is_challenged_for_it(self, http, oci, world, method, path, needed):
        # given a valid token of bob's that names another repository
        issued = token(http, "bob", ["repository:alpha/other:pull,push,delete"])
        url = "/v2/alpha/app" + path.format(**world)
        # when
        response = http.request(method, url, headers=bearer(issued), content=b"")
        # then 401 names what the request needs, so the client fetches a token for it
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == \
            REALM + f',scope="repository:alpha/app:{needed}",error="insufficient_scope"'
        if method != "HEAD":
            assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
        # and with a token for what was named, the request is no longer refused for its scope
        retried = http.request(method, url, content=b"",
                               headers=bearer(token(http, "bob", challenge_scopes(response))))
        assert retried.status_code not in (401, 403), retried.text

    def test_right_token_refused_by_policy_stays_403(self, http, oci, world):
        rule = {"tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "v*"}],
                "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                                    "pattern": "**"}]}}
        assert http.post("/api/v2.0/projects/alpha/immutabletagrules", json=rule).status_code == 201
        issued = token(http, "bob", ["repository:alpha/app:pull,push,delete"])
        manifest = oci.image_manifest("alpha/app")
        response = http.put("/v2/alpha/app/manifests/v1", content=json.dumps(manifest),
                            headers={**bearer(issued), "content-type": OCI_MANIFEST})
        assert response.status_code == 403
        assert response.json()["errors"][0]["code"] == "DENIED"
        assert "www-authenticate" not in response.headers

    def test_basic_caller_without_the_right_keeps_403(self, http, world):
        create_user(http, "carol")
        add_member(http, "alpha", "carol", 3)  # guest: pull only
        response = http.post("/v2/alpha/app/blobs/uploads/", headers=as_user("carol"))
        assert response.status_code == 403
        assert response.json()["errors"][0]["code"] == "DENIED"

    def test_pull_token_reused_for_an_upload_is_challenged_for_push(self, http, world):
        # ORAS asks for a pull token on its first HEAD and reuses it for the upload POST
        pull = token(http, "bob", ["repository:alpha/app:pull"])
        assert http.head("/v2/alpha/app/manifests/v1", headers=bearer(pull)).status_code == 200
        refused = http.post("/v2/alpha/app/blobs/uploads/", headers=bearer(pull))
        assert refused.status_code == 401
        assert challenge_scopes(refused) == ["repository:alpha/app:pull,push"]
        push = token(http, "bob", challenge_scopes(refused))
        assert http.post("/v2/alpha/app/blobs/uploads/", headers=bearer(push)).status_code == 202
