"""Start/stop the registries under test: Debian's docker-registry and Tidemark."""
from __future__ import annotations

import base64
import ctypes
import http.client
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from bench import client, procstat

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_TIDEMARK_CMD = (
    "{python} -m infra.wiring.cli serve --host {host} --port {port} --data-dir {data_dir}"
)
HOST = "127.0.0.1"

DISTRIBUTION_CONFIG = """\
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {data_dir}
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
  redirect:
    disable: true
http:
  addr: {host}:{port}
  secret: {secret}
  headers:
    X-Content-Type-Options: [nosniff]
"""


def _die_with_parent() -> None:
    """preexec: SIGKILL the server if the harness itself is killed (PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except OSError:
        pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """One registry process in its own temp dir; use as a context manager."""

    def __init__(self, label: str, kind: str, argv_template: str | None = None,
                 registry_bin: str = "docker-registry", keep: bool = False,
                 env: dict | None = None, credentials: tuple[str, str] | None = None,
                 auth: str = "basic"):
        self.label, self.kind = label, kind  # kind: "distribution" | "command"
        self.argv_template = argv_template
        self.env = dict(env or {})
        self.credentials = credentials
        self.auth = auth  # basic: Basic everywhere; bearer: token for read-only load
        self._tokens: dict[str, dict] = {}
        self.registry_bin = registry_bin
        self.keep = keep
        self.port = free_port()
        self.host = HOST
        self.tmp = tempfile.mkdtemp(prefix=f"bench-{label}-")
        self.data_dir = os.path.join(self.tmp, "data")
        os.makedirs(self.data_dir)
        self.log_path = os.path.join(self.tmp, "server.log")
        self.proc: subprocess.Popen | None = None
        self._log = None

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def headers(self) -> dict:
        """Headers for every request of the harness's own client (Basic credentials)."""
        if not self.credentials:
            return {}
        raw = f"{self.credentials[0]}:{self.credentials[1]}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    def read_headers(self, repo: str) -> dict:
        """Headers for read-only load (wrk, hey, blob pull): a pull token for `repo`
        when auth is 'bearer' and the server challenges, else `headers`."""
        if self.auth != "bearer":
            return self.headers
        if repo not in self._tokens:
            tok = client.bearer_token(self.host, self.port, repo, "pull", self.headers)
            self._tokens[repo] = {"Authorization": f"Bearer {tok}"} if tok else self.headers
        return self._tokens[repo]

    def conn(self, timeout: float = 120.0) -> "client.Conn":
        return client.Conn(self.host, self.port, timeout=timeout, headers=self.headers)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def argv(self) -> list[str]:
        if self.kind == "distribution":
            cfg = os.path.join(self.tmp, "config.yml")
            with open(cfg, "w") as f:
                f.write(DISTRIBUTION_CONFIG.format(
                    data_dir=self.data_dir, host=self.host, port=self.port,
                    secret=secrets.token_hex(16)))
            return [self.registry_bin, "serve", cfg]
        cmd = (self.argv_template or DEFAULT_TIDEMARK_CMD).format(
            python=shlex.quote(sys.executable), host=self.host, port=self.port,
            data_dir=shlex.quote(self.data_dir), tmp=shlex.quote(self.tmp))
        return shlex.split(cmd)

    def start(self, ready_timeout: float = 60.0) -> "Server":
        argv = self.argv()
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            argv, cwd=REPO_ROOT, stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent)
        self.command = " ".join(shlex.quote(a) for a in argv)
        self._wait_ready(ready_timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.label} exited with {self.proc.returncode} before ready; "
                    f"log tail:\n{self.log_tail()}")
            try:
                c = http.client.HTTPConnection(self.host, self.port, timeout=2)
                c.request("GET", "/v2/", headers=self.headers)
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    return
                last = f"HTTP {r.status}"
                if r.status == 401 and not self.credentials:
                    raise RuntimeError(
                        f"{self.label} answers 401 on /v2/: it needs credentials "
                        "(--target-user/--target-password)")
            except OSError as e:
                last = repr(e)
            time.sleep(0.1)
        raise RuntimeError(f"{self.label} not ready after {timeout}s ({last}); "
                           f"log tail:\n{self.log_tail()}")

    def log_tail(self, n: int = 2000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log_path) - n))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss_kb(self) -> int:
        return procstat.rss_kb(self.pid)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            pids = procstat.tree(self.proc.pid)
            try:  # whole session/process group we created
                os.killpg(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for p in pids:  # stragglers that left the group
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.proc.wait(timeout=10)
        if self._log:
            self._log.close()
            self._log = None
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def make_target(label: str, target_cmd: str | None, registry_bin: str, keep: bool,
                user: str | None = None, password: str | None = None,
                auth: str = "bearer", extra_env: dict | None = None) -> Server:
    """The side under test: Tidemark by default, or 'distribution' for a second
    docker-registry, or any command template with {python} {host} {port} {data_dir} {tmp}.
    For the default Tidemark command the harness makes the built-in admin's password
    itself (TIDEMARK_ADMIN_PASSWORD of this throw-away server) and sets the log level
    to warning (Distribution runs at level error with the access log off)."""
    if target_cmd and target_cmd.strip() == "distribution":
        return Server(label, "distribution", registry_bin=registry_bin, keep=keep)
    env: dict = {}
    creds = (user, password) if user and password else None
    if not target_cmd:
        creds = (user or "admin", password or "Bench" + secrets.token_urlsafe(18) + "7a")
        env = {"TIDEMARK_ADMIN_PASSWORD": creds[1], "TIDEMARK_LOG_LEVEL": "warning"}
    env.update(extra_env or {})
    if auth == "none":
        creds = None
    return Server(label, "command", argv_template=target_cmd or DEFAULT_TIDEMARK_CMD,
                  registry_bin=registry_bin, keep=keep, env=env, credentials=creds,
                  auth=auth)
