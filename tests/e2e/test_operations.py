"""Operating Tidemark safely: one server per port and per live data directory, the CLI
beside a live server, and the line that says where a server listens (ADR 0016)."""

import json
import subprocess
import sys
import time

import httpx
import pytest

from tests import processes
from tests.e2e.conftest import (
    ADMIN_PASSWORD, REPO_ROOT, _free_port, _stop, clean_environment, start_tidemark,
)

pytestmark = pytest.mark.e2e
AUTH = ("admin", ADMIN_PASSWORD)


def _serve_until_exit(data_dir, port: int, timeout: float = 60, **settings: str) -> tuple[int, str]:
    """Run `tidemark serve` that should refuse to start: its exit status and output."""
    env = clean_environment(TIDEMARK_DATA_DIR=str(data_dir), TIDEMARK_ADMIN_PASSWORD=ADMIN_PASSWORD,
                            **settings)
    process = processes.spawn([sys.executable, "-m", "infra.wiring.cli", "serve", "--host", "127.0.0.1",
                               "--port", str(port), "--data-dir", str(data_dir)], cwd=REPO_ROOT,
                              env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        output, _ = process.communicate()
        pytest.fail(f"the second server did not refuse to start; it printed:\n{output}")
    finally:
        _stop(process)
    return process.returncode, output


def _cli(data_dir, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "infra.wiring.cli", *argv, "--data-dir", str(data_dir)],
                          cwd=REPO_ROOT, env=clean_environment(TIDEMARK_ADMIN_PASSWORD=ADMIN_PASSWORD),
                          capture_output=True, text=True, timeout=120)


def test_a_second_server_on_a_busy_port_is_refused_and_the_first_keeps_every_request(tmp_path):
    port = _free_port()
    first = start_tidemark(tmp_path, port, tmp_path / "first")
    try:
        with httpx.Client(base_url=f"http://{first.host}/api/v2.0", auth=AUTH, timeout=30) as api:
            assert api.post("/projects", json={"project_name": "only-on-first"}).status_code == 201
            # when a second server (its own data) starts on the same port
            status, output = _serve_until_exit(tmp_path / "second", port)
            # then it refuses in one line, and every request still reaches the first
            assert status != 0
            assert output.strip().splitlines() == [
                f"tidemark: 127.0.0.1:{port}: address already in use (another server listens "
                "there; TIDEMARK_REUSE_PORT=true shares the port on purpose)"]
            answers = [api.get("/projects/only-on-first").status_code for _ in range(40)]
            assert answers == [200] * 40
    finally:
        _stop(first.process)


def test_port_sharing_is_allowed_when_asked_for(tmp_path):
    port = _free_port()
    first = start_tidemark(tmp_path, port, tmp_path / "first", TIDEMARK_REUSE_PORT="true")
    try:
        # the port answers already (the first server): wait for the second's own line
        second = start_tidemark(tmp_path, port, tmp_path / "second", TIDEMARK_REUSE_PORT="true")
        try:
            listening = f"tidemark: listening on http://127.0.0.1:{port}"
            for _ in range(600):
                if second.process.poll() is not None or listening in second.log_path.read_text():
                    break
                time.sleep(0.1)
            assert listening in second.log_path.read_text(), second.log_tail()
            assert second.process.poll() is None
        finally:
            _stop(second.process)
    finally:
        _stop(first.process)


def test_a_live_data_directory_is_refused_to_a_second_server_and_to_verbs_that_write(tmp_path):
    data_dir = (tmp_path / "data").resolve()
    server = start_tidemark(tmp_path, _free_port(), data_dir)
    refusal = (f"tidemark: a Tidemark server is running on {data_dir} (pid {server.process.pid}); "
               "stop it or use the REST API")
    try:
        # a second server on another port
        status, output = _serve_until_exit(data_dir, _free_port())
        assert status == 2 and output.strip().splitlines() == [refusal]
        # verbs that write
        for argv in (["gc"], ["gc", "--dry-run"], ["projects", "create", "cli-made"],
                     ["projections", "rebuild", "oci"], ["events", "verify"]):
            result = _cli(data_dir, *argv)
            assert (result.returncode, result.stderr.strip().splitlines()) == (2, [refusal]), argv
            assert result.stdout == ""
        # verbs that only read run beside the server
        with httpx.Client(base_url=f"http://{server.host}/api/v2.0", auth=AUTH, timeout=30) as api:
            assert api.post("/projects", json={"project_name": "beside"}).status_code == 201
            assert api.get("/projects/cli-made").status_code == 404  # the refused verb did nothing
        status = _cli(data_dir, "projections", "status", "oci")
        assert status.returncode == 0, status.stderr
        fields = status.stdout.split()
        assert fields[0] == "oci" and fields[2] == fields[4] and fields[6] == "0"  # caught up
        export = _cli(data_dir, "events", "export")
        assert export.returncode == 0, export.stderr
        events = [json.loads(line) for line in export.stdout.splitlines()]
        assert events and events[-1]["position"] == int(fields[4])
    finally:
        _stop(server.process)
    # once the server has stopped, the verbs that write run again
    result = _cli(data_dir, "gc", "--dry-run")
    assert result.returncode == 0, result.stderr


def test_the_server_says_where_it_listens_and_keeps_its_data(tmp_path):
    data_dir = (tmp_path / "data").resolve()
    port = _free_port()
    server = start_tidemark(tmp_path, port, data_dir)
    try:
        lines = server.log_path.read_text().splitlines()
    finally:
        _stop(server.process)
    assert (f"tidemark: listening on http://127.0.0.1:{port} (data directory {data_dir}, "
            f"database SQLite in {data_dir}, storage file://{data_dir}/blobs)") in lines
