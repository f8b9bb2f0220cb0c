"""The app the fuzz tests attack: its own data directory, a pushed image to find, and a raw
ASGI caller that sends header and path bytes exactly as given (as a real server would pass
them on, latin-1 and all), which HTTP client libraries refuse to do."""

import base64
from contextlib import contextmanager
from typing import Iterator

import anyio
from anyio.from_thread import start_blocking_portal
from litestar.testing import TestClient

from infra.wiring.app import create_app
from infra.wiring.registry import build_registry
from infra.settings import Settings
from tests.integration.oci_client import OciClient

ADMIN_PASSWORD = "Fuzz-Admin-Passw0rd"
ADMIN = "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
REPOSITORY = "library/app"


def without_lifespan(app):
    """The app with lifespan events ignored: the fixture starts and closes the registry itself,
    so no client (schemathesis starts one lifespan per app and keeps it) starts it twice."""
    async def wrapped(scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await app(scope, receive, send)
    return wrapped


class Seed:
    """What the fuzz data directory holds before the attack: an image and its parts, and
    one of each REST resource, its id under the path parameter name that names it."""

    def __init__(self, manifest_digest: str, config_digest: str, layer_digest: str,
                 upload: str, ids: dict[str, str]) -> None:
        self.manifest = manifest_digest
        self.config = config_digest
        self.layer = layer_digest
        self.upload = upload
        self.ids = ids


def _created_id(response) -> str:
    assert response.status_code == 201, response.text
    return response.headers["location"].rstrip("/").rsplit("/", 1)[1]


def _seed_resources(client) -> dict[str, str]:
    """A user (a member of library), a robot, a label, a webhook policy, a retention policy
    and an immutability rule, so ids in generated paths can name something real."""
    project = client.get("/api/v2.0/projects/library").json()["project_id"]
    selector = {"kind": "doublestar", "decoration": "matches", "pattern": "**"}
    repositories = {"repository": [{**selector, "decoration": "repoMatches"}]}
    ids = {
        "user_id": _created_id(client.post("/api/v2.0/users", json={
            "username": "fuzzer", "password": "Fuzzer-Passw0rd", "email": "fuzzer@example.test"})),
        "robot_id": _created_id(client.post("/api/v2.0/robots", json={
            "name": "fuzzbot", "level": "project", "duration": -1, "permissions": [{
                "kind": "project", "namespace": "library",
                "access": [{"resource": "repository", "action": "pull"}]}]})),
        "label_id": _created_id(client.post("/api/v2.0/labels", json={"name": "fuzz", "scope": "g"})),
        "webhook_policy_id": _created_id(client.post("/api/v2.0/projects/library/webhook/policies", json={
            "name": "fuzzhook", "enabled": True, "event_types": ["PUSH_ARTIFACT"],
            "targets": [{"type": "http", "address": "http://127.0.0.1:9/hook"}]})),
        "policy_id": _created_id(client.post("/api/v2.0/retentions", json={
            "algorithm": "or", "trigger": {"kind": "Manual", "settings": {"cron": ""}},
            "scope": {"level": "project", "ref": project},
            "rules": [{"disabled": False, "action": "retain", "template": "always", "params": {},
                       "tag_selectors": [selector], "scope_selectors": repositories}]})),
        "immutable_rule_id": _created_id(client.post("/api/v2.0/projects/library/immutabletagrules", json={
            "tag_selectors": [{**selector, "pattern": "never-*"}], "scope_selectors": repositories})),
        "mid": _created_id(client.post("/api/v2.0/projects/library/members", json={
            "role_id": 2, "member_user": {"username": "fuzzer"}})),
        "id": str(project),
    }
    return ids


@contextmanager
def fuzz_app(data_dir) -> Iterator[tuple[object, Seed]]:
    settings = Settings(data_dir=str(data_dir), external_url="http://registry.test",
                        admin_password=ADMIN_PASSWORD, webhook_delivery="inline",
                        webhook_max_attempts=1, webhook_timeout_seconds=1.0)
    registry = build_registry(settings)
    registry.start(role="all")
    try:
        app = without_lifespan(create_app(settings, registry))
        with TestClient(app, base_url="http://registry.test") as client:
            client.headers["authorization"] = ADMIN
            oci = OciClient(client)
            manifest = oci.image_manifest(REPOSITORY, layers=1, seed=b"fuzzseed")
            digest, _ = oci.push_manifest(REPOSITORY, "v1", manifest)
            upload = client.post(f"/v2/{REPOSITORY}/blobs/uploads/").headers["docker-upload-uuid"]
            ids = _seed_resources(client)
        yield app, Seed(digest, manifest["config"]["digest"], manifest["layers"][0]["digest"], upload, ids)
    finally:
        registry.close()


class RawCaller:
    """Sends one request straight into the ASGI app and returns (status, body)."""

    def __init__(self, app) -> None:
        self.app = app
        self._portal = None
        self._context = None

    def __enter__(self) -> "RawCaller":
        self._context = start_blocking_portal()
        self._portal = self._context.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._context.__exit__(*exc)

    def __call__(self, method: str, raw_path: bytes, query: bytes = b"",
                 headers: list[tuple[bytes, bytes]] | None = None, body: bytes = b"",
                 with_headers: bool = False):
        """(status, body), or (status, body, headers) `with_headers`."""
        status, answer, answer_headers = self._portal.call(self._send, method, raw_path, query,
                                                           headers or [], body)
        return (status, answer, answer_headers) if with_headers else (status, answer)

    async def _send(self, method, raw_path, query, headers, body):
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": raw_path.decode("latin-1"), "raw_path": raw_path,
                 "root_path": "", "query_string": query,
                 "headers": [(b"host", b"registry.test"), *headers],
                 "client": ("127.0.0.1", 50000), "server": ("registry.test", 80), "state": {}}
        sent = False
        status = 0
        answer_headers: dict[bytes, bytes] = {}
        parts: list[bytes] = []
        done = anyio.Event()

        async def receive():
            nonlocal sent
            if sent:
                await done.wait()
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                answer_headers.update(message.get("headers", []))
                # An event stream never ends: its status is all there is to see.
                if any(k.lower() == b"content-type" and v.startswith(b"text/event-stream")
                       for k, v in message.get("headers", [])):
                    done.set()
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()
            elif message["type"] == "http.response.pathsend":
                done.set()

        async def run() -> None:
            await self.app(scope, receive, send)
            done.set()

        async with anyio.create_task_group() as group:
            group.start_soon(run)
            with anyio.fail_after(60):
                await done.wait()
            group.cancel_scope.cancel()
        return status, b"".join(parts), answer_headers
