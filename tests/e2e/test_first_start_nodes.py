"""Nodes of one PostgreSQL deployment started at the same moment on a fresh database (issue
18): each finds the tables, keys, default project and admin the first one made, none crashes
and nothing is made twice (infra/store/setup_lock.py); and a write answered by one node is what
the next read on the other sees (read-your-writes from any node)."""

import subprocess
import time

import httpx

from tests import processes
from tests.e2e.conftest import (
    ADMIN_PASSWORD, REPO_ROOT, RunningRegistry, _server_command, _wait_until_ready, clean_environment,
)
from tests.integration.servers import free_port, scratch_postgres

API = "/api/v2.0"


def test_nodes_started_at_once_on_a_fresh_database_all_serve_one_registry(tmp_path):
    with scratch_postgres() as url:
        shared = {"TIDEMARK_DATABASE_URL": url, "TIDEMARK_STORAGE_URL": f"file://{tmp_path / 'blobs'}",
                  "TIDEMARK_TOKEN_KEY_FILE": str(tmp_path / "token_signing_key.pem"),
                  "TIDEMARK_SECRETS_KEY_FILE": str(tmp_path / "secrets.key"),
                  "TIDEMARK_BUILTIN_SCANNER": "off"}

        ports = [free_port()]
        while len(ports) < 2:
            port = free_port()
            if port not in ports:
                ports.append(port)

        nodes = []
        for n, port in enumerate(ports):  # both spawned before either is ready
            data_dir, log_path = tmp_path / f"node{n}", tmp_path / f"node{n}-{time.monotonic_ns()}.log"
            env = clean_environment(TIDEMARK_DATA_DIR=str(data_dir), TIDEMARK_ADMIN_PASSWORD=ADMIN_PASSWORD, **shared)
            with log_path.open("wb") as log:
                process = processes.spawn(_server_command("tidemark", tmp_path, f"127.0.0.1:{port}", port, data_dir),
                                          cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT)
            nodes.append(RunningRegistry("tidemark", f"127.0.0.1:{port}", data_dir, log_path, process))
        try:
            for server in nodes:
                _wait_until_ready(server, 60)
            for server in nodes:
                with httpx.Client(base_url=f"http://{server.host}", auth=("admin", ADMIN_PASSWORD)) as http:
                    projects = http.get(f"{API}/projects", params={"name": "library"})
                    assert projects.status_code == 200 and [p["name"] for p in projects.json()] == ["library"]
                    users = http.get(f"{API}/users", params={"username": "admin"})
                    assert [u["username"] for u in users.json()] == ["admin"]
            # A token from one node is good at the other: they share one signing key.
            first, second = nodes
            token = httpx.get(f"http://{first.host}/service/token", params={"service": "tidemark"},
                              auth=("admin", ADMIN_PASSWORD)).json()["token"]
            assert httpx.get(f"http://{second.host}/v2/", headers={"authorization": f"Bearer {token}"}).status_code == 200
            read_your_writes(first, second)
        finally:
            for server in nodes:
                processes.stop(server.process)
        for server in nodes:
            log = server.log_path.read_text(errors="replace")
            assert "Traceback" not in log and "exited; starting it again" not in log, log[-3000:]


def read_your_writes(first, second) -> None:
    """Writes on one node, each read at once on the other: projects, users, memberships and the
    rights they give at the token service, and an image pushed."""
    import base64
    import json

    from infra.replication.distribution import RegistryClient
    from tests.integration.oci_client import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, descriptor, sha256

    a = httpx.Client(base_url=f"http://{first.host}{API}", auth=("admin", ADMIN_PASSWORD))
    b = httpx.Client(base_url=f"http://{second.host}{API}", auth=("admin", ADMIN_PASSWORD))
    with a, b:
        for i in range(10):
            writer, reader = (a, b) if i % 2 == 0 else (b, a)
            assert writer.post("/projects", json={"project_name": f"ryw{i}"}).status_code == 201
            assert reader.get(f"/projects/ryw{i}").status_code == 200
            assert writer.post("/users", json={"username": f"ryw{i}", "password": "Ryw-Passw0rd-1",
                                                     "email": f"ryw{i}@example.com"}).status_code == 201
            assert writer.post(f"/projects/ryw{i}/members",
                               json={"role_id": 2, "member_user": {"username": f"ryw{i}"}}).status_code == 201
            assert [m["role_id"] for m in reader.get(f"/projects/ryw{i}/members").json()
                    if m["entity_name"] == f"ryw{i}"] == [2]
            token = httpx.get(f"{reader.base_url.scheme}://{reader.base_url.netloc.decode()}/service/token",
                              params={"service": "tidemark", "scope": f"repository:ryw{i}/app:pull,push"},
                              auth=(f"ryw{i}", "Ryw-Passw0rd-1")).json()["token"]
            claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
            assert sorted(claims["access"][0]["actions"]) == ["pull", "push"]
    config, layer = json.dumps({"os": "linux"}).encode(), b"pushed on one node"
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, config),
                           "layers": [descriptor(OCI_LAYER, layer)]}).encode()
    with RegistryClient(f"http://{first.host}", username="admin", password=ADMIN_PASSWORD) as pusher, \
            RegistryClient(f"http://{second.host}", username="admin", password=ADMIN_PASSWORD) as puller:
        for data in (config, layer):
            pusher.push_blob("ryw0/app", sha256(data), len(data), lambda offset, data=data: [data[offset:]])
        digest = pusher.put_manifest("ryw0/app", "v1", manifest, OCI_MANIFEST)
        body, _, got = puller.get_manifest("ryw0/app", "v1")
        assert got == digest and body == manifest
        stream = puller.open_blob("ryw0/app", sha256(layer))
        assert b"".join(stream) == layer
