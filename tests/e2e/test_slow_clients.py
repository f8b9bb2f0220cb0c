"""Slow clients against a real server, over raw sockets: headers that trickle and bodies
that stall or trickle are cut off; a slow but steady upload completes."""

import base64
import hashlib
import json
import os
import socket
import time

import pytest

from tests.e2e.conftest import ADMIN_PASSWORD, _free_port, _stop, start_tidemark

pytestmark = pytest.mark.e2e

TIMEOUT = 2  # seconds, the server's header and body timeouts in these tests
WAIT = 60  # how long a test waits for the server to act: far beyond TIMEOUT
AUTH = "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slow-clients")
    running = start_tidemark(workdir, _free_port(), workdir / "data",
                             TIDEMARK_HEADER_TIMEOUT_SECONDS=str(TIMEOUT),
                             TIDEMARK_BODY_TIMEOUT_SECONDS=str(TIMEOUT),
                             TIDEMARK_BODY_MIN_BYTES="1024")
    yield running
    _stop(running.process)


def _connect(server) -> socket.socket:
    host, port = server.host.split(":")
    sock = socket.create_connection((host, int(port)), timeout=WAIT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _head(method: str, path: str, length: int, content_type: str = "application/octet-stream") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: registry\r\nAuthorization: {AUTH}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n").encode()


def _answer(sock: socket.socket) -> tuple[int, dict, bytes]:
    """Read one response (status, headers, body) from the socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed without an answer (got {data!r})"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    length = int(headers.get("content-length", 0))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the connection closed in the middle of an answer"
        body += chunk
    return int(lines[0].split()[1]), headers, body


def _closed(sock: socket.socket) -> bool:
    """Whether the server has closed the connection (waits up to WAIT for it)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def _new_upload(server) -> str:
    with _connect(server) as sock:
        sock.sendall(_head("POST", "/v2/library/slow/blobs/uploads/", 0))
        status, headers, _ = _answer(sock)
    assert status == 202
    return headers["location"].split(server.host, 1)[-1]


def test_headers_sent_byte_by_byte_are_cut_off(server):
    request = (b"GET /v2/ HTTP/1.1\r\nHost: registry\r\nX-Padding: " + b"a" * 380 + b"\r\n\r\n")
    with _connect(server) as sock:
        sock.settimeout(0.05)  # one byte every 50 ms: the whole head would take about 20 s
        cut_off = False
        for byte in request:
            try:
                sock.send(bytes([byte]))
                cut_off = sock.recv(1) == b""
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                cut_off = True
            break
    assert cut_off, "the server waited for the whole trickled head"


def test_a_blob_patch_that_stops_midway_gets_408_and_the_upload_can_resume(server):
    location = _new_upload(server)
    with _connect(server) as sock:
        sock.sendall(_head("PATCH", location, 1024 * 1024) + os.urandom(64 * 1024))
        # the client stops sending here
        status, headers, body = _answer(sock)
        assert status == 408
        assert headers["connection"] == "close"
        assert headers["docker-distribution-api-version"] == "registry/2.0"
        assert [e["code"] for e in json.loads(body)["errors"]] == ["REQUEST_TIMEOUT"]
        assert _closed(sock)
    with _connect(server) as sock:  # the session is still there for the client to resume
        sock.sendall(f"GET {location} HTTP/1.1\r\nHost: registry\r\nAuthorization: {AUTH}\r\n\r\n".encode())
        status, headers, _ = _answer(sock)
    assert status == 204 and headers["range"].startswith("0-")


def test_a_blob_patch_that_trickles_is_cut_off(server):
    location = _new_upload(server)
    with _connect(server) as sock:
        sock.sendall(_head("PATCH", location, 100_000))
        sock.settimeout(0.1)
        answer = b""
        for _ in range(int(WAIT / 0.1)):  # one byte every 100 ms, far below 1 KiB per window
            try:
                sock.send(b"x")
                answer = sock.recv(65536)
                break
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):  # closed: read what it answered
                try:
                    answer = sock.recv(65536)
                except OSError:
                    pass
                break
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_a_rest_body_that_stops_midway_gets_408_in_harbor_form_and_changes_nothing(server):
    body = json.dumps({"project_name": "never-made", "metadata": {"public": "true"}}).encode()
    with _connect(server) as sock:
        sock.sendall(_head("POST", "/api/v2.0/projects", len(body), "application/json") + body[:10])
        status, headers, answer = _answer(sock)
    assert status == 408 and headers["connection"] == "close"
    assert [e["code"] for e in json.loads(answer)["errors"]] == ["REQUEST_TIMEOUT"]
    with _connect(server) as sock:
        sock.sendall(b"GET /api/v2.0/projects/never-made HTTP/1.1\r\nHost: registry\r\n"
                     + f"Authorization: {AUTH}\r\n\r\n".encode())
        assert _answer(sock)[0] == 404


def test_a_slow_but_steady_upload_completes(server):
    location = _new_upload(server)
    chunk, count = 64 * 1024, 48  # 3 MiB, one chunk every 100 ms: longer than TIMEOUT in all
    blob = os.urandom(chunk * count)
    started = time.monotonic()
    with _connect(server) as sock:
        sock.sendall(_head("PATCH", location, len(blob)))
        for offset in range(0, len(blob), chunk):
            sock.sendall(blob[offset:offset + chunk])
            time.sleep(0.1)
        status, headers, _ = _answer(sock)
    assert status == 202, headers
    assert time.monotonic() - started > TIMEOUT  # it did outlast one window
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    with _connect(server) as sock:
        sock.sendall(_head("PUT", f"{location}&digest={digest}" if "?" in location
                           else f"{location}?digest={digest}", 0))
        assert _answer(sock)[0] == 201
    with _connect(server) as sock:
        sock.sendall(f"GET /v2/library/slow/blobs/{digest} HTTP/1.1\r\nHost: registry\r\n"
                     f"Authorization: {AUTH}\r\n\r\n".encode())
        status, _, received = _answer(sock)
    assert status == 200 and received == blob
