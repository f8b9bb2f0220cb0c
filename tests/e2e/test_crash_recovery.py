"""SIGKILL in the middle of pushes: what was complete survives, nothing partial shows."""

import hashlib
import os
import signal
import subprocess
import threading
import time

import httpx
import pytest

from tests import processes
from tests.e2e import oci_images
from tests.e2e.conftest import (
    ADMIN_PASSWORD, REPO_ROOT, RunningRegistry, Skopeo, _free_port, _server_command, _stop,
    _wait_until_ready,
)

pytestmark = pytest.mark.e2e
MIB = 1024 * 1024
AUTH = ("admin", ADMIN_PASSWORD)


def _start(workdir, port, data_dir) -> RunningRegistry:
    log_path = workdir / f"server-{time.monotonic_ns()}.log"
    command = _server_command("tidemark", workdir, f"127.0.0.1:{port}", port, data_dir)
    with log_path.open("wb") as log:
        process = processes.spawn(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                  env={**os.environ, "TIDEMARK_DATA_DIR": str(data_dir),
                                       "TIDEMARK_ADMIN_PASSWORD": ADMIN_PASSWORD})
    server = RunningRegistry("tidemark", f"127.0.0.1:{port}", data_dir, log_path, process)
    _wait_until_ready(server, 30)
    return server


def _kill_during(send_body, server: RunningRegistry, after_bytes: int) -> bytearray:
    """Stream a body until `after_bytes` went out, then SIGKILL the server; return what was sent."""
    sent = threading.Event()
    produced = bytearray()

    def body():
        total = 0
        while True:
            chunk = os.urandom(256 * 1024)
            produced.extend(chunk)
            total += len(chunk)
            if total >= after_bytes:
                sent.set()
                time.sleep(0.5)  # hold the request open while the server dies
            yield chunk

    worker = threading.Thread(target=lambda: _swallow(send_body, body()), daemon=True)
    worker.start()
    assert sent.wait(30)
    time.sleep(0.3)
    for child in _children(server.process.pid):  # the worker that holds the request, then
        os.kill(child, signal.SIGKILL)           # the main process: the whole server dies
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    worker.join(timeout=10)
    return produced


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_worker_does_not_outlive_a_killed_server(tmp_path):
    port = _free_port()
    server = _start(tmp_path, port, tmp_path / "data")
    workers = _children(server.process.pid)
    assert workers, "granian runs the application in a worker process"
    server.process.send_signal(signal.SIGKILL)  # only the main process
    server.process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(_alive, workers)), "an orphaned worker kept serving"
    with pytest.raises(httpx.ConnectError):  # nothing answers on the port any more
        httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=2)


def _swallow(send_body, body) -> None:
    try:
        send_body(body)
    except httpx.HTTPError:
        pass


def test_sigkill_mid_push_keeps_complete_data_and_no_partial_blob(tmp_path):
    data_dir = tmp_path / "data"
    port = _free_port()
    server = _start(tmp_path, port, data_dir)
    base = f"http://127.0.0.1:{port}"
    try:
        # given a complete image and a chunked upload with 2 MiB received
        skopeo = Skopeo(tmp_path, server)
        skopeo.login("admin", ADMIN_PASSWORD)
        image = oci_images.build_image(tmp_path / "layout", tag="v1", seed=7)
        skopeo.copy(f"oci:{image.layout_dir}:v1", server.ref("library/crash", "v1"))
        first = os.urandom(2 * MIB)
        with httpx.Client(base_url=base, timeout=30, auth=AUTH) as client:
            location = client.post("/v2/library/crash/blobs/uploads/").headers["location"]
            assert client.patch(location, content=first).status_code == 202
        # when the server is killed during the next chunk and during a monolithic push
        with httpx.Client(timeout=30, auth=AUTH) as client:
            second = _kill_during(lambda body: client.patch(location, content=body), server, 3 * MIB)
        server = _start(tmp_path, port, data_dir)
        lost = hashlib.sha256(b"never completes").hexdigest()
        with httpx.Client(timeout=30, auth=AUTH) as client:
            _kill_during(lambda body: client.post(
                f"{base}/v2/library/crash/blobs/uploads/?digest=sha256:{lost}", content=body),
                server, 4 * MIB)
        server = _start(tmp_path, port, data_dir)

        # then the complete image is intact and pullable
        out = tmp_path / "pulled"
        skopeo = Skopeo(tmp_path, server)
        skopeo.login("admin", ADMIN_PASSWORD)
        skopeo.copy(server.ref("library/crash", "v1"), f"oci:{out}:v1")
        assert oci_images.resolve_tag(out, "v1")["digest"] == image.manifest_digest
        with httpx.Client(base_url=base, timeout=30, auth=AUTH) as client:
            # the interrupted monolithic push left nothing visible
            assert client.head(f"/v2/library/crash/blobs/sha256:{lost}").status_code == 404
            # the interrupted chunked upload resumes from what the server kept
            status = client.get(location)
            assert status.status_code == 204
            kept = int(status.headers["range"].split("-")[1]) + 1
            assert kept >= len(first)
            # the client resumes from the kept offset with the bytes it still holds
            sent = bytes(first + second)
            rest = sent[kept:kept + MIB] or os.urandom(MIB)
            resumed = client.patch(location, content=rest,
                                   headers={"content-range": f"{kept}-{kept + len(rest) - 1}"})
            assert resumed.status_code == 202
            whole = sent[:kept] + rest
            digest = "sha256:" + hashlib.sha256(whole).hexdigest()
            assert client.put(f"{location}?digest={digest}").status_code == 201
            assert client.get(f"/v2/library/crash/blobs/{digest}").content == whole
    finally:
        _stop(server.process)

    # and a rebuild of the projections matches the live query model
    from infra.wiring.registry import build_registry
    from infra.settings import Settings
    from projections.oci_view import OciView
    from projections.projector import checksum
    from projections.rebuild import rebuild

    registry = build_registry(Settings(data_dir=str(data_dir)))
    try:
        registry.start(follow=False)
        live = checksum(registry.db, "oci_", OciView.tables)
        assert rebuild(registry.app, registry.db, OciView, registry.projector) == live
    finally:
        registry.close()
