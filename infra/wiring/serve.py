"""Starting the HTTP server: refuse a port in use, bound slow clients, say where it listens."""

import errno
import os
import socket
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from infra.settings import Settings


class CannotListen(Exception):
    """The server cannot have its address (the message says why, in one line)."""


def ensure_port_free(host: str, port: int) -> None:
    """Raise CannotListen if something already listens on host:port.

    granian binds with SO_REUSEPORT, so a second server on a busy port would start silently
    and take half of the connections. A probe bound without SO_REUSEPORT fails on a port
    any socket listens on (SO_REUSEADDR keeps connections in TIME_WAIT from counting)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as error:
        raise CannotListen(f"cannot listen on {host}:{port}: {error.strerror}") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CannotListen(
                    f"{host}:{port}: address already in use (another server listens there; "
                    "TIDEMARK_REUSE_PORT=true shares the port on purpose)") from None
            raise CannotListen(f"cannot listen on {host}:{port}: {error.strerror}") from None


def safe_database_url(url: str) -> str:
    """The database URL without its password (in the userinfo or the query)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, has_password, _ = userinfo.partition(":")
        netloc = f"{user}:***@{host}" if has_password else f"{user}@{host}"
    query = urlencode([(k, "***" if k.lower() == "password" else v)
                       for k, v in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def describe(settings: Settings) -> str:
    """Where this registry keeps its data, in one line (no secrets)."""
    if settings.uses_postgres:
        database = safe_database_url(settings.database_url)
    else:
        database = f"SQLite in {settings.data_path}"
    return (f"data directory {settings.data_path}, database {database}, "
            f"storage {settings.resolved_storage_url}")


def announce(settings: Settings) -> None:
    """The line an operator looks for once the server answers."""
    print(f"tidemark: listening on http://{settings.host}:{settings.port} ({describe(settings)})",
          flush=True)


def serve_http(settings: Settings, server: str) -> None:
    if server == "uvicorn":
        import uvicorn

        uvicorn.run("infra.wiring.app:asgi_app", factory=True, host=settings.host, port=settings.port,
                    loop="uvloop", http="httptools", access_log=False, log_level="warning",
                    proxy_headers=False)  # X-Forwarded-For only as TIDEMARK_TRUSTED_PROXIES says
        return
    from granian import Granian
    from granian.http import HTTP1Settings

    from infra.wiring.parent_watch import SERVER_PID

    os.environ[SERVER_PID] = str(os.getpid())  # its workers exit if this process dies
    # hyper closes a connection whose request headers are not complete in time (also an idle
    # keep-alive connection); bodies are bounded by the app (infra/http/slow_clients.py).
    http1 = HTTP1Settings(header_read_timeout=max(1000, int(settings.header_timeout_seconds * 1000)))
    Granian("infra.wiring.app:asgi_app", factory=True, interface="asgi", address=settings.host,
            port=settings.port, workers=1, loop="uvloop", http="1", websockets=False,
            http1_settings=http1, log_access=False, log_level="warning").serve()
