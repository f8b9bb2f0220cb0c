"""Nodes of one PostgreSQL deployment started at the same moment on a fresh database (issue
18): each finds the tables, keys, default project and admin the first one made, none crashes
and nothing is made twice (infra/store/setup_lock.py)."""

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
        finally:
            for server in nodes:
                processes.stop(server.process)
        for server in nodes:
            log = server.log_path.read_text(errors="replace")
            assert "Traceback" not in log and "exited; starting it again" not in log, log[-3000:]
