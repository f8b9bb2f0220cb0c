"""Fixtures for end-to-end tests that drive a real registry with real clients.

The registry under test is chosen by ``TIDEMARK_E2E_TARGET``:

* ``tidemark`` (default): ``python -m infra.wiring.cli serve`` from the repository root;
* ``distribution``: Debian's ``docker-registry`` (CNCF Distribution), as a reference.

Either runs as a subprocess on a free loopback port with its data in a temp dir,
once per test session; each test gets its own repository name.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from tests import processes

TARGET_ENV = "TIDEMARK_E2E_TARGET"
START_TIMEOUT_ENV = "TIDEMARK_E2E_START_TIMEOUT"
REPO_ROOT = Path(__file__).resolve().parents[2]
SKOPEO_TIMEOUT = 180
ADMIN_PASSWORD = "E2e-Admin-Passw0rd"

DISTRIBUTION_CONFIG = """\
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: {data_dir}
  delete:
    enabled: true
http:
  addr: {host}
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningRegistry:
    target: str
    host: str  # "127.0.0.1:PORT", as it appears in image references
    data_dir: Path
    log_path: Path
    process: subprocess.Popen

    def ref(self, repository: str, tag: str | None = None, digest: str | None = None) -> str:
        """A skopeo ``docker://`` reference into this registry."""
        suffix = f"@{digest}" if digest else f":{tag or 'latest'}"
        return f"docker://{self.host}/{repository}{suffix}"

    def repository_ref(self, repository: str) -> str:
        """A tag-less ``docker://`` reference, as ``skopeo list-tags`` wants it."""
        return f"docker://{self.host}/{repository}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "<no registry log>"
        return "\n".join(text.splitlines()[-lines:])

    def create_project(self, name: str, public: bool = True) -> None:
        """Make ``name/...`` repositories usable (Distribution needs nothing).

        Through the REST API as admin: the CLI refuses to write a data directory a live
        server holds (ADR 0016)."""
        if self.target != "tidemark":
            return
        import httpx

        response = httpx.post(f"http://{self.host}/api/v2.0/projects", auth=("admin", ADMIN_PASSWORD),
                              json={"project_name": name, "metadata": {"public": str(public).lower()}},
                              timeout=60)
        assert response.status_code == 201, response.text


def _server_command(target: str, workdir: Path, host: str, port: int, data_dir: Path) -> list[str]:
    if target == "tidemark":
        return [sys.executable, "-m", "infra.wiring.cli", "serve", "--host", "127.0.0.1",
                "--port", str(port), "--data-dir", str(data_dir)]
    if target == "distribution":
        binary = shutil.which("docker-registry") or shutil.which("registry")
        if binary is None:
            pytest.skip("docker-registry (CNCF Distribution) is not installed")
        config = workdir / "config.yml"
        config.write_text(DISTRIBUTION_CONFIG.format(data_dir=data_dir, host=host))
        return [binary, "serve", str(config)]
    raise pytest.UsageError(f"{TARGET_ENV}={target!r}: expected 'tidemark' or 'distribution'")


def _wait_until_ready(registry: RunningRegistry, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://{registry.host}/v2/"
    while time.monotonic() < deadline:
        if registry.process.poll() is not None:
            pytest.fail(f"{registry.target} exited with {registry.process.returncode} "
                        f"before it was ready:\n{registry.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as error:
            if error.code == 401:  # up, and asking for credentials
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"{registry.target} did not answer 200 on {url} within {timeout}s:\n"
                f"{registry.log_tail()}")


def _stop(process: subprocess.Popen) -> None:
    processes.stop(process)


def clean_environment(**settings: str) -> dict[str, str]:
    """This environment without TIDEMARK_* variables (the tests' own ones included), plus
    `settings`: a server or CLI run that sees exactly the settings a test gives it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIDEMARK_", "REGISTRY_"))}
    return {**env, **settings}


def start_tidemark(workdir: Path, port: int, data_dir: Path, **settings: str) -> RunningRegistry:
    """A Tidemark server of a test's own (stop it with `_stop(server.process)`)."""
    log_path = workdir / f"server-{port}-{time.monotonic_ns()}.log"
    env = clean_environment(TIDEMARK_DATA_DIR=str(data_dir), TIDEMARK_ADMIN_PASSWORD=ADMIN_PASSWORD,
                            **settings)
    with log_path.open("wb") as log:
        process = processes.spawn(_server_command("tidemark", workdir, f"127.0.0.1:{port}", port,
                                                  data_dir), cwd=REPO_ROOT, env=env,
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    server = RunningRegistry("tidemark", f"127.0.0.1:{port}", data_dir, log_path, process)
    try:
        _wait_until_ready(server, float(os.environ.get(START_TIMEOUT_ENV, "30")))
    except BaseException:
        _stop(process)
        raise
    return server


@pytest.fixture(scope="session")
def _registry_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    target = os.environ.get(TARGET_ENV, "tidemark").strip().lower() or "tidemark"
    workdir = tmp_path_factory.mktemp(f"registry-{target}")
    data_dir = workdir / "data"
    data_dir.mkdir()
    port = _free_port()
    host = f"127.0.0.1:{port}"
    command = _server_command(target, workdir, host, port, data_dir)
    env = {key: value for key, value in os.environ.items() if not key.startswith("REGISTRY_")}
    env["TIDEMARK_DATA_DIR"] = str(data_dir)
    env["TIDEMARK_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    env["TIDEMARK_GC_GRACE_SECONDS"] = "0"  # GC tests sweep what they just deleted
    env["TIDEMARK_GC_HISTORY_WINDOW_SECONDS"] = "0"
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = processes.spawn(command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL,
                                  stdout=log, stderr=subprocess.STDOUT)
    registry = RunningRegistry(target, host, data_dir, log_path, process)
    try:
        _wait_until_ready(registry, float(os.environ.get(START_TIMEOUT_ENV, "30")))
        yield registry
    finally:
        _stop(process)


@pytest.fixture
def registry(_registry_server: RunningRegistry) -> RunningRegistry:
    """The running registry under test (fails fast if it died in an earlier test)."""
    if _registry_server.process.poll() is not None:
        pytest.fail(f"registry exited with {_registry_server.process.returncode}:\n"
                    f"{_registry_server.log_tail()}")
    return _registry_server


_repo_counter = itertools.count(1)


@pytest.fixture
def repo(request: pytest.FixtureRequest) -> str:
    """A fresh repository name in the ``library`` project, derived from the test name."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower().removeprefix("test_"))
    return f"library/{slug.strip('-')[:48].strip('-')}-{next(_repo_counter)}"


class Skopeo:
    """Runs skopeo with a private signature policy and registries config, over plain http."""

    def __init__(self, config_dir: Path, registry: RunningRegistry) -> None:
        self.registry = registry
        policy = config_dir / "policy.json"
        policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
        registries_conf = config_dir / "registries.conf"
        registries_conf.write_text("unqualified-search-registries = []\n")
        (config_dir / "registries.d").mkdir(exist_ok=True)
        self.global_args = ["--policy", str(policy), "--registries.d", str(config_dir / "registries.d")]
        self.env = {**os.environ, "CONTAINERS_REGISTRIES_CONF": str(registries_conf),
                    "REGISTRY_AUTH_FILE": str(config_dir / "auth.json")}

    def run(self, *args: str, global_args: tuple[str, ...] = (), check: bool = True,
            stdin: str | None = None) -> subprocess.CompletedProcess:
        command = ["skopeo", *self.global_args, *global_args, *args]
        result = subprocess.run(command, env=self.env, capture_output=True, text=True,
                                timeout=SKOPEO_TIMEOUT, input=stdin)
        if check and result.returncode != 0:
            pytest.fail(f"`{' '.join(command)}` exited {result.returncode}\n"
                        f"--- stderr ---\n{result.stderr[-4000:]}\n"
                        f"--- {self.registry.target} log ---\n{self.registry.log_tail()}")
        return result

    def copy(self, src: str, dest: str, *flags: str, global_args: tuple[str, ...] = (),
             ) -> subprocess.CompletedProcess:
        return self.run("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                        *flags, src, dest, global_args=global_args)

    def inspect(self, ref: str, *flags: str, global_args: tuple[str, ...] = (),
                check: bool = True) -> subprocess.CompletedProcess:
        return self.run("inspect", "--tls-verify=false", *flags, ref,
                        global_args=global_args, check=check)

    def inspect_json(self, ref: str, *flags: str, global_args: tuple[str, ...] = ()) -> dict:
        return json.loads(self.inspect(ref, *flags, global_args=global_args).stdout)

    def list_tags(self, repository_ref: str) -> list[str]:
        result = self.run("list-tags", "--tls-verify=false", repository_ref)
        return json.loads(result.stdout)["Tags"] or []

    def delete(self, ref: str) -> subprocess.CompletedProcess:
        return self.run("delete", "--tls-verify=false", ref)

    def login(self, username: str, password: str, check: bool = True) -> subprocess.CompletedProcess:
        """`skopeo login`: stores the credentials in this helper's auth file."""
        return self.run("login", "--tls-verify=false", "-u", username, "--password-stdin",
                        self.registry.host, check=check, stdin=password)

    def logout(self) -> None:
        self.run("logout", "--all", check=False)


@pytest.fixture
def skopeo(tmp_path_factory: pytest.TempPathFactory, registry: RunningRegistry) -> Skopeo:
    if shutil.which("skopeo") is None:
        pytest.fail("skopeo is not installed (make test-deps installs it)")
    helper = Skopeo(tmp_path_factory.mktemp("skopeo"), registry)
    if registry.target == "tidemark":
        helper.login("admin", ADMIN_PASSWORD)
    return helper


@pytest.fixture
def api(registry):
    """The management API as admin (Tidemark only)."""
    import httpx

    if registry.target != "tidemark":
        pytest.skip("the management API is Tidemark's")
    with httpx.Client(base_url=f"http://{registry.host}/api/v2.0", auth=("admin", ADMIN_PASSWORD),
                      timeout=60) as client:
        yield client
