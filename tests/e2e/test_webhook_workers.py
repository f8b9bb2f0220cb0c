"""End to end on PostgreSQL: a web process that only serves, two `serve --role workers`
processes that follow the log, skopeo pushing, a real receiver on loopback.

One worker sends at a time (the lease), so every push reaches the receiver once; when
that worker is killed with SIGKILL the other takes over and nothing is lost."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests import processes
from tests.e2e import oci_images
from tests.e2e.conftest import _stop
from tests.integration.servers import free_port, scratch_postgres
from tests.integration.webhook_receivers import Receiver, wait_until

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Workers-Admin-Passw0rd"
API = "/api/v2.0/projects/library/webhook"


def _serve(role: str, port: int, env: dict, log_path: Path) -> subprocess.Popen:
    return processes.spawn(
        [sys.executable, "-m", "infra.wiring.cli", "serve", "--role", role, "--host", "127.0.0.1",
         "--port", str(port)], cwd=REPO_ROOT, env=env, stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT)


def _push(host: str, image, tag: str) -> None:
    result = subprocess.run(
        ["skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
         "--dest-creds", f"admin:{PASSWORD}", f"oci:{image.layout_dir}:v1",
         f"docker://{host}/library/app:{tag}"], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def cluster(tmp_path):
    with scratch_postgres() as url:
        env = {**os.environ, "TIDEMARK_DATABASE_URL": url, "TIDEMARK_DATA_DIR": str(tmp_path / "data"),
               "TIDEMARK_ADMIN_PASSWORD": PASSWORD, "TIDEMARK_LOG_FORMAT": "json",
               "TIDEMARK_WEBHOOK_RETRY_BASE_SECONDS": "0.2"}
        port = free_port()
        processes = {"web": _serve("write", port, env, tmp_path / "web.log")}
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=("admin", PASSWORD),
                              timeout=30)

        def up():
            try:
                return client.get("/api/v2.0/ping").status_code == 200
            except httpx.TransportError:
                return processes["web"].poll() is not None
        wait_until(up, timeout=60, interval=0.2)
        assert processes["web"].poll() is None, (tmp_path / "web.log").read_text()
        for name in ("worker-a", "worker-b"):  # started one after the other: the first leads
            processes[name] = _serve("workers", free_port(), env, tmp_path / f"{name}.log")
            time.sleep(1.0)
        try:
            yield client, f"127.0.0.1:{port}", processes
        finally:
            client.close()
            for process in processes.values():
                _stop(process)


def _sender(client: httpx.Client) -> dict:
    health = client.get("/api/v2.0/health").json()
    return next((c for c in health["components"] if c["name"] == "webhooks"), {})


def _all_succeeded(client: httpx.Client, policy_id: int, count: int) -> bool:
    jobs = client.get(f"{API}/jobs", params={"policy_id": policy_id, "page_size": 100}).json()
    return len(jobs) == count and all(job["status"] == "success" for job in jobs)


def test_two_worker_processes_deliver_each_push_once_and_survive_a_sigkill(cluster, tmp_path):
    client, host, processes = cluster
    images = [oci_images.build_image(tmp_path / f"image{i}", seed=500 + i) for i in range(6)]
    with Receiver() as receiver:
        created = client.post(f"{API}/policies", json={
            "name": "ci", "event_types": ["PUSH_ARTIFACT"],
            "targets": [{"type": "http", "address": receiver.url}]})
        assert created.status_code == 201, created.text
        policy_id = int(created.headers["location"].rsplit("/", 1)[1])

        for i in range(3):
            _push(host, images[i], f"v{i}")
        wait_until(lambda: _all_succeeded(client, policy_id, 3), timeout=60, interval=0.2)
        first = [r.headers["X-Tidemark-Event-Id"] for r in receiver.received]
        assert len(first) == 3 and len(set(first)) == 3  # both workers run; one sent each

        # The health report, read from the web process, names the worker that sends.
        holder = _sender(client)["holder"]
        pids = {processes[name].pid: name for name in ("worker-a", "worker-b")}
        leader = pids[int(holder.rsplit(":", 1)[1])]
        processes[leader].send_signal(signal.SIGKILL)
        processes[leader].wait(timeout=10)

        for i in range(3, 6):
            _push(host, images[i], f"v{i}")
        # The survivor takes the lease when it expires (15 s) and sends what is waiting.
        wait_until(lambda: _all_succeeded(client, policy_id, 6), timeout=90, interval=0.5)
        ids = [r.headers["X-Tidemark-Event-Id"] for r in receiver.received]
        assert len(ids) == 6 and len(set(ids)) == 6, ids
        tags = sorted(r.json()["event_data"]["resources"][0]["tag"] for r in receiver.received)
        assert tags == [f"v{i}" for i in range(6)]
        survivor = next(name for name in pids.values() if name != leader)
        assert _sender(client)["holder"].endswith(f":{processes[survivor].pid}")


def _children_of(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as handle:
            found += [int(p) for p in handle.read().split()]
    return found


def _webhook_process(pid: int) -> int | None:
    for child in _children_of(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as handle:
                if b"--role\x00webhooks" in handle.read():
                    return child
        except OSError:
            continue
    return None


def test_the_embedded_server_delivers_from_a_process_of_its_own_and_restarts_it(tmp_path):
    env = {**os.environ, "TIDEMARK_DATA_DIR": str(tmp_path / "data"), "TIDEMARK_ADMIN_PASSWORD": PASSWORD,
           "TIDEMARK_LOG_FORMAT": "json"}
    port = free_port()
    server = _serve("all", port, env, tmp_path / "server.log")
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", auth=("admin", PASSWORD), timeout=30)
    images = [oci_images.build_image(tmp_path / f"image{i}", seed=700 + i) for i in range(2)]
    try:
        def up():
            try:
                return client.get("/api/v2.0/ping").status_code == 200
            except httpx.TransportError:
                return server.poll() is not None
        wait_until(up, timeout=60, interval=0.2)
        child = wait_until(lambda: _webhook_process(server.pid), timeout=30)
        with open(f"/proc/{child}/stat") as stat:
            assert int(stat.read().rsplit(")", 1)[1].split()[16]) == 10  # nice: yields to requests
        with Receiver() as receiver:
            created = client.post(f"{API}/policies", json={
                "name": "ci", "event_types": ["PUSH_ARTIFACT"],
                "targets": [{"type": "http", "address": receiver.url}]})
            assert created.status_code == 201, created.text
            _push(f"127.0.0.1:{port}", images[0], "v0")
            receiver.wait_for(1, timeout=30)
            policy_id = int(created.headers["location"].rsplit("/", 1)[1])
            wait_until(lambda: _all_succeeded(client, policy_id, 1), timeout=30, interval=0.2)
            assert _sender(client)["holder"].endswith(f":{child}")

            os.kill(child, signal.SIGKILL)  # the server starts another
            replacement = wait_until(lambda: (_webhook_process(server.pid) or child) != child
                                     and _webhook_process(server.pid), timeout=30)
            _push(f"127.0.0.1:{port}", images[1], "v1")
            # the lease of the killed process expires (15 s), then the new one sends
            deliveries = receiver.wait_for(2, timeout=60)
            assert sorted(d.json()["event_data"]["resources"][0]["tag"] for d in deliveries) == ["v0", "v1"]
            assert _sender(client)["holder"].endswith(f":{replacement}")
    finally:
        client.close()
        _stop(server)
    assert server.returncode == 0  # a clean stop, and the webhook process went with it
    assert not os.path.exists(f"/proc/{replacement}")
