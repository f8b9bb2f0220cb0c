"""Debian's `docker-registry` (CNCF Distribution) as a replication peer for tests, and a small
reverse proxy in front of it that fails on cue.

`distribution(tmp_path)` starts one on a free loopback port with filesystem storage under
`tmp_path`; `users` turns on htpasswd auth (bcrypt: Distribution accepts nothing else),
`delete=False` makes it answer 405 to deletes, `tls=(cert, key)` serves HTTPS. `.stop()` and
`.start()` again keep the port and the data (and the upload-state secret), so a test can take a
destination away and bring it back.
"""

from __future__ import annotations

import datetime
import http.client
import http.server
import ipaddress
import shutil
import socket
import socketserver
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests import processes
from tests.integration.servers import free_port

START_TIMEOUT = 30.0

_CONFIG = """\
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {data_dir}
  delete:
    enabled: {delete}
http:
  addr: 127.0.0.1:{port}
  secret: tidemark-tests-upload-state
{tls}{auth}"""


@dataclass
class DistributionServer:
    """A docker-registry process (or a stopped one that `.start()` brings back)."""

    port: int
    data_dir: Path
    log_path: Path
    config_path: Path
    tls: bool = False
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    def start(self) -> None:
        """Start (again) on the same port and data; return once /v2/ answers."""
        binary = shutil.which("docker-registry")
        if binary is None:
            pytest.skip("docker-registry (CNCF Distribution) is not installed")
        if self.process is not None and self.process.poll() is None:
            return
        with self.log_path.open("ab") as log:
            self.process = processes.spawn([binary, "serve", str(self.config_path)],
                                           stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited with {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/v2/", verify=False, timeout=2).status_code in (200, 401):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"docker-registry did not answer on {self.url}:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None:
            processes.stop(self.process)
            self.process = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "<no log>"


def htpasswd_line(user: str, password: str) -> str:
    import bcrypt

    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4, prefix=b"2a"))
    return f"{user}:{hashed.decode()}"


@contextmanager
def distribution(tmp_path: Path, *, users: dict[str, str] | None = None, delete: bool = True,
                 tls: tuple[Path, Path] | None = None) -> Iterator[DistributionServer]:
    """A running docker-registry, stopped afterwards (see the module docstring)."""
    if shutil.which("docker-registry") is None:
        pytest.skip("docker-registry (CNCF Distribution) is not installed")
    workdir = Path(tmp_path)
    port = free_port()
    data_dir = workdir / f"distribution-{port}"
    data_dir.mkdir(parents=True)
    auth = ""
    if users:
        htpasswd = workdir / f"htpasswd-{port}"
        htpasswd.write_text("".join(htpasswd_line(u, p) + "\n" for u, p in users.items()))
        auth = f"auth:\n  htpasswd:\n    realm: tidemark-tests\n    path: {htpasswd}\n"
    tls_block = f"  tls:\n    certificate: {tls[0]}\n    key: {tls[1]}\n" if tls else ""
    config = workdir / f"distribution-{port}.yml"
    config.write_text(_CONFIG.format(data_dir=data_dir, delete=str(delete).lower(), port=port,
                                     tls=tls_block, auth=auth))
    server = DistributionServer(port, data_dir, workdir / f"distribution-{port}.log", config,
                                tls=tls is not None)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def self_signed_certificate(directory: Path) -> tuple[Path, Path, str]:
    """A certificate for 127.0.0.1 signed by its own key: (cert path, key path, cert PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tidemark test registry")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
    cert_path, key_path = directory / "registry.crt", directory / "registry.key"
    cert_path.write_text(pem)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path, pem


# -- fault injection ----------------------------------------------------------------------

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
               "trailer", "upgrade", "content-length"}


@dataclass
class Seen:
    """One request as the proxy saw it."""

    method: str
    path: str
    content_range: str | None
    body_bytes: int  # bytes of body the proxy read from the client
    status: int | None  # None: the proxy cut the connection
    answered_range: str | None = None  # the Range header of the answer (upload progress)


class FaultyProxy:
    """A threaded HTTP reverse proxy to `upstream` ("http://host:port") that records each
    request (`.seen`) and, on cue:
    - `cut_patch(n, forward=k)`: the n-th PATCH from now gets half its body read, `k` bytes of
      it forwarded (the destination keeps what it got), then both connections are closed;
    - `fail_next(k)`: the next k requests get 500 without reaching the upstream;
    - `rewrite_manifest_digest(d)`: the next manifest PUT answer says Docker-Content-Digest d.
    Absolute Location headers that name the upstream are rewritten to the proxy."""

    def __init__(self, upstream: str) -> None:
        self.upstream = httpx.URL(upstream)
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._patches_left: int | None = None
        self._forward = 0
        self._fail_left = 0
        self._digest: str | None = None
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except (ConnectionError, OSError):
                    self.close_connection = True

            def do_GET(self) -> None:
                proxy._handle(self)

            do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "FaultyProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- cues -------------------------------------------------------------------

    def cut_patch(self, n: int = 1, forward: int = 0) -> None:
        with self._lock:
            self._patches_left, self._forward = n, forward

    def fail_next(self, k: int) -> None:
        with self._lock:
            self._fail_left = k

    def rewrite_manifest_digest(self, digest: str) -> None:
        with self._lock:
            self._digest = digest

    # -- forwarding -------------------------------------------------------------

    def _record(self, handler, body_bytes: int, status: int | None,
                answered_range: str | None = None) -> None:
        with self._lock:
            self.seen.append(Seen(handler.command, handler.path, handler.headers.get("Content-Range"),
                                  body_bytes, status, answered_range))

    def _handle(self, handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        with self._lock:
            cut = fail = False
            if handler.command == "PATCH" and self._patches_left is not None:
                self._patches_left -= 1
                if self._patches_left == 0:
                    cut, self._patches_left = True, None
            if not cut and self._fail_left > 0:
                self._fail_left -= 1
                fail = True
            rewrite = None
            if handler.command == "PUT" and "/manifests/" in handler.path and self._digest:
                rewrite, self._digest = self._digest, None
        if cut:
            self._cut(handler, length)
        elif fail:
            handler.rfile.read(length)
            self._record(handler, length, 500)
            body = b'{"errors":[{"code":"UNKNOWN","message":"injected failure"}]}'
            handler.send_response(500)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if handler.command != "HEAD":  # a HEAD answer has no body
                handler.wfile.write(body)
        else:
            self._forward_request(handler, length, rewrite)

    def _upstream_connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.upstream.host, self.upstream.port, timeout=60)

    def _send_upstream_head(self, connection, handler, length: int) -> None:
        connection.putrequest(handler.command, handler.path, skip_host=True,
                              skip_accept_encoding=True)
        for name, value in handler.headers.items():
            if name.lower() not in _HOP_BY_HOP:
                connection.putheader(name, value)
        connection.putheader("Content-Length", str(length))
        connection.endheaders()

    def _cut(self, handler, length: int) -> None:
        received = handler.rfile.read(length // 2)
        if self._forward:
            connection = self._upstream_connection()
            self._send_upstream_head(connection, handler, length)
            connection.send(received[: self._forward])
            # Hang up the body, then wait until the upstream is done with the request (it
            # answers or closes): what it kept is stored before the client hears of the cut.
            connection.sock.shutdown(socket.SHUT_WR)
            connection.sock.settimeout(10)
            try:
                while connection.sock.recv(65536):
                    pass
            except OSError:
                pass
            connection.close()
        self._record(handler, len(received), None)
        handler.close_connection = True
        handler.connection.shutdown(socket.SHUT_RDWR)

    def _forward_request(self, handler, length: int, rewrite: str | None) -> None:
        connection = self._upstream_connection()
        try:
            self._send_upstream_head(connection, handler, length)
            remaining = length
            while remaining > 0:
                piece = handler.rfile.read(min(remaining, 1 << 20))
                if not piece:
                    break
                connection.send(piece)
                remaining -= len(piece)
            answer = connection.getresponse()
            body = answer.read()
            handler.send_response(answer.status)
            for name, value in answer.getheaders():
                lowered = name.lower()
                if lowered in _HOP_BY_HOP and not (lowered == "content-length" and handler.command == "HEAD"):
                    continue
                if lowered == "location":
                    value = value.replace(str(self.upstream).rstrip("/"), self.url)
                if lowered == "docker-content-digest" and rewrite:
                    value = rewrite
                handler.send_header(name, value)
            if handler.command != "HEAD":
                handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(body)
            self._record(handler, length - remaining, answer.status, answer.getheader("Range"))
        finally:
            connection.close()
