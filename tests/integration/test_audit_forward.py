"""Audit entries forwarded to a real syslog receiver (TCP and UDP), through an outage."""

import json
import re
import socket
import threading

import msgspec
import pytest

from tests.integration.servers import free_port
from tests.integration.webhook_receivers import wait_until

LINE = re.compile(r"<110>1 (\S+) (\S+) tidemark - (\S+) - (\{.*\})")


class SyslogReceiver:
    """A syslog server on 127.0.0.1 that keeps every message it gets, in arrival order; it can
    go away and come back on the same port."""

    def __init__(self, protocol: str) -> None:
        self.protocol = protocol
        self.port = free_port()
        self.messages: list[dict] = []
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    @property
    def endpoint(self) -> str:
        return f"{self.protocol}://127.0.0.1:{self.port}"

    def _keep(self, line: bytes) -> None:
        match = LINE.fullmatch(line.decode())
        assert match, line
        entry = json.loads(match.group(4))
        assert match.group(3) == entry["event_type"] and match.group(1) == entry["op_time"]
        self.messages.append(entry)

    def start(self) -> "SyslogReceiver":
        kind = socket.SOCK_STREAM if self.protocol == "tcp" else socket.SOCK_DGRAM
        server = socket.socket(socket.AF_INET, kind)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        self._sockets.append(server)
        target = self._datagrams if kind == socket.SOCK_DGRAM else self._accept
        if kind == socket.SOCK_STREAM:
            server.listen()
        self._spawn(target, server)
        return self

    def _spawn(self, target, sock) -> None:
        thread = threading.Thread(target=target, args=(sock,), daemon=True)
        self._threads.append(thread)
        thread.start()

    def _datagrams(self, server: socket.socket) -> None:
        while True:
            try:
                data = server.recv(65535)
            except OSError:
                return
            if not data:  # shut down
                return
            self._keep(data)

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            self._sockets.append(connection)
            self._spawn(self._read, connection)

    def _read(self, connection: socket.socket) -> None:
        pending = b""
        while True:
            try:
                data = connection.recv(65536)
            except OSError:
                return
            if not data:
                return
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self._keep(line)

    def stop(self) -> None:
        for sock in self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        for thread in self._threads:
            thread.join(5)
        self._sockets, self._threads = [], []

    def resources(self, event_type: str) -> list[str]:
        return [m["resource"] for m in self.messages if m["event_type"] == event_type]


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture(params=["tcp", "udp"])
def receiver(request):
    receiver = SyslogReceiver(request.param).start()
    yield receiver
    receiver.stop()


@pytest.fixture
def settings(settings, receiver):
    return msgspec.structs.replace(settings, audit_log_forward_endpoint=receiver.endpoint,
                                   audit_log_disabled_event_types="pull_artifact")


@pytest.fixture
def quick_retries(registry):
    registry.audit_forwarder.backoff_initial = 0.05
    registry.audit_forwarder.backoff_max = 0.2


def test_audit_entries_reach_the_receiver_as_rfc5424_lines_except_disabled_types(
        receiver, quick_retries, http, oci, registry):
    digest, _ = oci.push_image("library/app", "v1")
    assert http.get("/v2/library/app/manifests/v1").status_code == 200
    registry.pulls.flush()
    wait_until(lambda: "library/app:v1" in receiver.resources("create_tag"))
    assert f"library/app@{digest}" in receiver.resources("create_artifact")
    registry.catch_up()
    stored = http.get("/api/v2.0/auditlog-exts", params={"page_size": 100}).json()
    assert "pull_artifact" in {e["event_type"] for e in stored}  # filtered from forwarding only
    wait_until(lambda: registry.audit_forwarder.lag() == 0)
    assert "pull_artifact" not in {m["event_type"] for m in receiver.messages}
    forwarded = {m["id"]: m for m in receiver.messages}
    for entry in stored:
        if entry["event_type"] != "pull_artifact":
            assert forwarded[entry["id"]] == entry


def test_a_receiver_outage_loses_nothing_and_keeps_the_order(receiver, quick_retries, http, oci, registry):
    """Over UDP, the receiver's host (here the loopback) answers "port unreachable" while it
    is down, which the forwarder takes as "not sent"."""
    oci.push_image("library/app", "v1")
    wait_until(lambda: "library/app:v1" in receiver.resources("create_tag"))
    receiver.stop()
    for tag in ("v2", "v3", "v4"):
        oci.push_image("library/app", tag)
    wait_until(lambda: registry.audit_forwarder.state == "stalled")
    receiver.start()
    wait_until(lambda: "library/app:v4" in receiver.resources("create_tag"))
    wait_until(lambda: registry.audit_forwarder.state == "following")
    first_seen = list(dict.fromkeys(m["id"] for m in receiver.messages))
    assert first_seen == sorted(first_seen)  # in log order, whatever was sent twice
    registry.catch_up()
    stored = {e["id"] for e in http.get("/api/v2.0/auditlog-exts", params={"page_size": 100}).json()
              if e["event_type"] != "pull_artifact"}
    assert stored <= set(first_seen)
    tags = list(dict.fromkeys(receiver.resources("create_tag")))
    assert tags == [f"library/app:{tag}" for tag in ("v1", "v2", "v3", "v4")]
