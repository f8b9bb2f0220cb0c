"""The processes tests start cannot outlive the test run, however it ends."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_gone(pid: int) -> bool:
    for _ in range(600):  # up to a minute: the kernel acts at once, the child exits soon after
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def _spawned_by(code: str) -> int:
    """Run `code` in a test-like process that spawns a server; the server's pid."""
    script = ("import os, signal, subprocess, sys, time\n"
              "from tests import processes\n"
              "SERVER = 'import time; print(\"up\", flush=True); time.sleep(600)'\n"
              "server = processes.spawn([sys.executable, '-c', SERVER], stdout=subprocess.PIPE, text=True)\n"
              # As in a real run, the server is up before the crash: a parent killed while
              # its child is still being exec'd can leave the child without its death signal
              # (7 in 40 tries here when the kill followed the new command line appearing);
              # servers are waited for until they answer, so the test waits until it says so.
              "assert server.stdout.readline() == 'up\\n'\n"
              "print(server.pid, flush=True)\n" + code)
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=60)
    return int(result.stdout.split()[0])


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs util-linux setpriv")
def test_a_server_dies_with_a_test_run_that_crashes():
    server = _spawned_by("os.kill(os.getpid(), signal.SIGKILL)")  # no teardown, no atexit
    assert _wait_gone(server), "the server outlived the crashed test run"


def test_a_server_left_running_is_stopped_when_the_test_run_exits():
    server = _spawned_by("sys.exit(0)")
    assert _wait_gone(server)


def test_stop_ends_the_whole_process_group():
    from tests import processes

    leader = processes.spawn(["sh", "-c", "sleep 600 & echo $!; wait"], stdout=subprocess.PIPE, text=True)
    child = int(leader.stdout.readline())
    processes.stop(leader)
    assert _wait_gone(child), "a child of the stopped process kept running"
    assert leader not in processes.live()
