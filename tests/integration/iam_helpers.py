"""Helpers the identity-and-access tests share (test_iam_*.py), some also used by other
integration tests to make users, projects and members through the Harbor v2.0 REST API."""

import base64
import json

import pytest
from argon2 import PasswordHasher

from tests.integration.conftest import basic

API = "/api/v2.0"


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


def robot_body(project: str, name: str = "ci", access=(("repository", "pull"),), **extra) -> dict:
    """A RobotCreate for a project robot holding `access` in `project`."""
    return {"name": name, "level": "project", "duration": -1, "description": "CI pulls",
            "permissions": [{"kind": "project", "namespace": project,
                             "access": [{"resource": r, "action": a} for r, a in access]}],
            **extra}


def token_for(http, scope: str | list[str], headers: dict | None = None, anonymously: bool = False):
    """GET /service/token as a Docker client asks for it: as admin, as `headers` say,
    or with no credentials at all."""
    params = {"service": "tidemark", "scope": scope}
    if anonymously:
        return anonymous(http, "GET", "/service/token", params=params)
    return http.get("/service/token", params=params, headers=headers)
