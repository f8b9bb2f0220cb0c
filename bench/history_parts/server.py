"""The Tidemark server started for the HTTP figures, and a keep-alive client for it."""
from __future__ import annotations

import base64
import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import procstat
from bench.history_parts.backends import Backend
from bench.history_parts.common import ADMIN_PASSWORD, HOST, ROOT
from bench.history_parts.profiling import PySpy
from bench.servers import _die_with_parent, free_port


class Server:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.port = free_port()
        self.log_path = Path(backend.data_dir) / "server.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 300.0, spy: str | None = None,
              spy_out: Path | None = None) -> tuple[float, dict | None]:
        """Start the server; return the seconds until it answers (and a py-spy summary of
        its start-up when a binary is given)."""
        argv = [sys.executable, "-m", "infra.wiring.cli", "serve", "--host", HOST, "--port", str(self.port),
                "--data-dir", self.backend.data_dir]
        log = open(self.log_path, "wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=self.backend.server_env(), stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        log.close()
        recorder = PySpy(spy, self.proc.pid, spy_out, subprocesses=True).__enter__()
        try:
            return self._wait_ready(t0, timeout), None
        finally:
            recorder.__exit__(None, None, None)
            self.startup_profile = recorder.summary()

    def _wait_ready(self, t0: float, timeout: float) -> float:
        assert self.proc is not None
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}): {self.log_tail()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/api/v2.0/ping")
                if conn.getresponse().status == 200:
                    conn.close()
                    return time.perf_counter() - t0
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready in {timeout} s: {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        pids = procstat.tree(self.proc.pid)
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait(timeout=10)


class Client:
    """One keep-alive connection with Basic auth; `get` returns (seconds, status, headers, body)."""

    def __init__(self, port: int) -> None:
        self.port = port
        token = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        self.conn = http.client.HTTPConnection(HOST, port, timeout=300)

    def get(self, path: str) -> tuple[float, int, Any, bytes]:
        t0 = time.perf_counter()
        try:
            self.conn.request("GET", path, headers=self.headers)
            response = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=300)
            t0 = time.perf_counter()
            self.conn.request("GET", path, headers=self.headers)
            response = self.conn.getresponse()
        body = response.read()
        return time.perf_counter() - t0, response.status, response.headers, body

    def close(self) -> None:
        self.conn.close()
