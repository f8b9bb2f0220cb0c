"""Real processes for the scanner's tests: a Tidemark registry, `tidemark scanner serve`, and
`tidemark vulndb` runs, each with a clean environment and its own data directory."""

import os
import select
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from tests import processes
from tests.integration.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN = ("admin", "Scanner-Admin-Passw0rd")


def clean_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDEMARK_")}
    return {**env, **settings}


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "infra.wiring.cli", *args], cwd=ROOT, env=env or clean_env(),
                          capture_output=True, text=True, timeout=120)


class Registry:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "registry.log"
        with self.log.open("wb") as log:
            self.process = processes.spawn(
                [sys.executable, "-m", "infra.wiring.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--data-dir", str(workdir / "registry")], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=clean_env(TIDEMARK_ADMIN_PASSWORD=ADMIN[1]))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/v2/", timeout=2).status_code in (200, 401):
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError("the registry did not start:\n" + self.log.read_text()[-3000:])

    def create_project(self, name: str) -> None:
        answer = httpx.post(f"{self.url}/api/v2.0/projects", auth=ADMIN, timeout=30,
                            json={"project_name": name, "metadata": {"public": "false"}})
        assert answer.status_code == 201, answer.text

    def pull_token(self, repository: str) -> str:
        answer = httpx.get(f"{self.url}/service/token", auth=ADMIN, timeout=30,
                           params={"service": "tidemark", "scope": f"repository:{repository}:pull"})
        assert answer.status_code == 200, answer.text
        return answer.json()["token"]

    def stop(self) -> None:
        processes.stop(self.process)


class Scanner:
    """`tidemark scanner serve --port 0`; its address comes from the line it prints."""

    def __init__(self, data_dir: Path, **settings: str) -> None:
        self.data_dir = data_dir
        self.env = clean_env(**settings)
        self.process = processes.spawn(
            [sys.executable, "-m", "infra.wiring.cli", "scanner", "serve", "--host", "127.0.0.1", "--port", "0",
             "--data-dir", str(data_dir)], cwd=ROOT, env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.line = self._first_line()
        self.url = self.line.split("listening on ", 1)[1].split(" ", 1)[0]
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def _first_line(self) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.5)
            if ready:
                line = self.process.stdout.readline().decode()
                if "listening on" in line:
                    return line.strip()
            if self.process.poll() is not None:
                raise AssertionError(f"the scanner exited: {self.process.stderr.read().decode()[-3000:]}")
        raise AssertionError("the scanner printed no listening line")

    def vulndb(self, *args: str) -> subprocess.CompletedProcess:
        return cli("vulndb", *args, "--data-dir", str(self.data_dir), env=self.env)

    def scan(self, body: dict, **headers) -> httpx.Response:
        return self.http.post("/api/v1/scan", json=body, headers=headers)

    def report(self, scan_id: str, accept: str, until_done: bool = True, **params) -> httpx.Response:
        """The report answer; with `until_done`, polled while it is 302."""
        deadline = time.monotonic() + 120
        while True:
            answer = self.http.get(f"/api/v1/scan/{scan_id}/report", headers={"Accept": accept}, params=params)
            if answer.status_code != 302 or not until_done or time.monotonic() > deadline:
                return answer
            time.sleep(0.1)

    def stop(self) -> int:
        self.http.close()
        processes.stop(self.process)
        return self.process.returncode


def scan_request(registry_url: str, repository: str, digest: str, authorization: str = "",
                 capabilities: list | None = None) -> dict:
    body = {"registry": {"url": registry_url, "authorization": authorization},
            "artifact": {"repository": repository, "digest": digest, "tag": "v1",
                         "mime_type": "application/vnd.oci.image.manifest.v1+json"}}
    if capabilities is not None:
        body["enabled_capabilities"] = capabilities
    return body


class _Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def answer(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server:
    def __init__(self, handler) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class GatedRegistry(_Server):
    """A pass-through to a real registry whose blob downloads wait until `open()`: a scan
    through it is surely still running until the test lets it go on."""

    def __init__(self, upstream: str) -> None:
        self.gate = threading.Event()
        gate = self.gate

        class Handler(_Quiet):
            def do_GET(self):
                if "/blobs/" in self.path:
                    gate.wait(60)
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "accept")}
                answer = httpx.get(upstream + self.path, headers=headers, timeout=30)
                passed = {k: v for k, v in answer.headers.items()
                          if k.lower() in ("content-type", "docker-content-digest", "www-authenticate")}
                self.answer(answer.status_code, answer.content, passed)

        super().__init__(Handler)

    def open(self) -> None:
        self.gate.set()


class LyingRegistry(_Server):
    """A registry that answers every manifest with the same document, whatever digest is
    asked for."""

    def __init__(self, manifest: bytes) -> None:
        class Handler(_Quiet):
            def do_GET(self):
                if "/manifests/" in self.path:
                    self.answer(200, manifest, {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
                else:
                    self.answer(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}')

        super().__init__(Handler)
