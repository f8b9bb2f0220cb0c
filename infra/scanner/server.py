"""Running the scanner adapter: bind its address (a clear error when it is taken), say where
it listens, serve until SIGTERM or SIGINT, then cancel running scans and delete their
scratch directories."""

import contextlib
import shutil
import signal
import socket
import sys

import uvicorn

from infra.scanner.app import create_scanner_app
from infra.scanner.inventories import InventoryStore
from infra.scanner.jobs import JobTable
from infra.scanner.scan_run import run_scan
from infra.scanner.settings import ScannerSettings
from infra.scanner.vulndb import VulnDb


class _Server(uvicorn.Server):
    """uvicorn's server, except that SIGTERM and SIGINT end `run` normally (uvicorn raises
    the signal again once it has stopped, which would kill the process before the scanner
    cancels its scans and clears its scratch directory)."""

    @contextlib.contextmanager
    def capture_signals(self):
        def stop(*_):
            self.should_exit = True

        previous = {number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


class CannotServe(Exception):
    """The scanner cannot start (the message says why, in one line)."""


def bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as error:
        raise CannotServe(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as error:
        sock.close()
        raise CannotServe(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def clear_scratch(settings: ScannerSettings) -> None:
    """Remove the scans' own directories (`scan-*`), never anything else: the scratch
    directory may be a shared one such as /tmp."""
    for leftover in settings.scratch_path.glob("scan-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def serve(settings: ScannerSettings) -> None:
    database = VulnDb(settings.database_path)
    database.updated_at()  # makes the file and its tables, or fails now rather than per request
    settings.scratch_path.mkdir(parents=True, exist_ok=True)
    clear_scratch(settings)  # what a killed scanner left behind
    inventories = InventoryStore(settings.inventories_path)
    jobs = JobTable(lambda request, cancelled: run_scan(request, settings, database, cancelled, inventories),
                    workers=settings.concurrent_scans, queued=settings.queued_scans,
                    ttl=settings.report_ttl_seconds, timeout=settings.scan_timeout_seconds)
    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    app = create_scanner_app(settings, database, jobs, inventories)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            proxy_headers=False, server_header=False, timeout_graceful_shutdown=5)
    server = _Server(config)
    auth = "token required" if settings.token else "no API token: open to anyone who reaches it"
    print(f"tidemark scanner: listening on http://{host}:{port} (database {settings.database_path}; {auth})",
          flush=True)
    try:
        server.run(sockets=[sock])  # uvicorn stops on SIGTERM and SIGINT
    finally:
        jobs.close()
        clear_scratch(settings)
        sock.close()
        print("tidemark scanner: stopped", file=sys.stderr, flush=True)
