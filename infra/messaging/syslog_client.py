"""Sending RFC 5424 syslog lines to one endpoint over TCP (newline-framed, RFC 6587's
non-transparent framing) or UDP (one datagram a line).

`host:port` is TCP, as Harbor's `audit_log_forward_endpoint`; `tcp://host:port` and
`udp://host:port` say it outright. TCP has no acknowledgement of its own: after each batch
the sender checks that the receiver has not closed or reset the connection, so a receiver
that went away is noticed on loopback and nearby hosts and the batch is sent again; bytes
a dying receiver had read but not yet kept can still be lost, as with any syslog over TCP.
Over UDP the only word is an ICMP "port unreachable": on loopback it comes back before the
next datagram is sent, so a receiver that is down is noticed there too; across a network it
may come late or never, and datagrams can be lost (as with any syslog over UDP).
"""

import json
import select
import socket
from typing import Iterable

from domain.errors import BadRequest

FACILITY_AUDIT = 13  # RFC 5424 "log audit"
SEVERITY_INFO = 6
APP_NAME = "tidemark"


def parse_endpoint(endpoint: str) -> tuple[str, str, int]:
    """(protocol, host, port) of `host:port`, `tcp://host:port` or `udp://host:port`."""
    text = endpoint.strip()
    protocol, _, rest = text.rpartition("://")
    protocol = (protocol or "tcp").lower()
    host, _, port = rest.rpartition(":")
    host = host.strip("[]")
    if protocol not in ("tcp", "udp") or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadRequest("audit_log_forward_endpoint must be host:port (tcp:// or udp:// may go first)",
                         {"field": "audit_log_forward_endpoint"})
    return protocol, host, int(port)


def _ascii(text: str, limit: int) -> str:
    """RFC 5424 header fields: printable US-ASCII without spaces, `-` when empty."""
    cleaned = "".join(c for c in text if 33 <= ord(c) <= 126)[:limit]
    return cleaned or "-"


def syslog_line(entry: dict, hostname: str) -> bytes:
    """One audit entry as an RFC 5424 message: the event type as MSGID, the entry as JSON (no
    raw line breaks, so a line is a message)."""
    pri = FACILITY_AUDIT * 8 + SEVERITY_INFO
    body = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
    header = (f"<{pri}>1 {entry['op_time']} {_ascii(hostname, 255)} {APP_NAME} - "
              f"{_ascii(entry['event_type'], 32)} -")
    return f"{header} {body}".encode()


class SyslogSender:
    def __init__(self, endpoint: str, timeout: float = 10.0) -> None:
        self.endpoint = endpoint
        self.protocol, self.host, self.port = parse_endpoint(endpoint)
        self.timeout = timeout
        self._sock: socket.socket | None = None

    def _connected(self) -> socket.socket:
        if self._sock is not None and self.protocol == "tcp" and self._peer_closed(self._sock):
            self.close()
        if self._sock is None:
            kind = socket.SOCK_STREAM if self.protocol == "tcp" else socket.SOCK_DGRAM
            self._sock = socket.create_connection((self.host, self.port), self.timeout) \
                if kind == socket.SOCK_STREAM else self._udp()
        return self._sock

    def _udp(self) -> socket.socket:
        family, kind, proto, _, address = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.connect(address)
        return sock

    @staticmethod
    def _peer_closed(sock: socket.socket) -> bool:
        """Whether the receiver closed or reset the connection (it never sends us anything, so
        a readable socket means an end or an error)."""
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            return bool(readable) and sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True

    @staticmethod
    def _refused(sock: socket.socket) -> None:
        """A UDP receiver that is not there answers with ICMP "port unreachable", which the
        connected socket keeps as its error: raise it, so the datagram is sent again later."""
        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            raise ConnectionRefusedError(error, "the syslog receiver refused the datagram")

    def send(self, lines: Iterable[bytes]) -> int:
        """Send every line; OSError (and a closed connection) if the receiver is not there."""
        sock, count = self._connected(), 0
        try:
            if self.protocol == "udp":
                for line in lines:
                    sock.send(line)
                    self._refused(sock)
                    count += 1
                return count
            payload = b"".join(line + b"\n" for line in lines)
            count = payload.count(b"\n")
            sock.sendall(payload)
            if self._peer_closed(sock):
                raise ConnectionResetError("the syslog receiver closed the connection")
        except OSError:
            self.close()
            raise
        return count

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass
