"""`tidemark serve`: the HTTP server, or (with `--role workers|webhooks`) the log followers."""

import argparse
import os
import sys

from infra.wiring.cli.common import CliError, settings_of


def cmd_serve(args) -> int:
    overrides = {"TIDEMARK_HOST": args.host, "TIDEMARK_PORT": args.port,
                 "TIDEMARK_DATA_DIR": args.data_dir, "TIDEMARK_ROLE": args.role}
    for key, value in overrides.items():
        if value is not None:
            os.environ[key] = str(value)
    settings = settings_of(args)
    lock = _lock_for_serve(settings)
    try:
        if settings.role in ("workers", "webhooks"):
            return _run_workers(settings)
        from infra.wiring.key_setup import prepare_to_serve
        from infra.wiring.serve import CannotListen, ensure_port_free, serve_http

        if not settings.reuse_port:
            try:
                ensure_port_free(settings.host, settings.port)
            except CannotListen as error:
                raise CliError(str(error)) from None
        prepare_to_serve(settings)  # key files checked and made before any child starts
        webhooks = None
        if settings.role == "all" and settings.webhook_delivery in ("auto", "child"):
            from infra.wiring.webhook_process import webhook_process

            os.environ["TIDEMARK_WEBHOOK_DELIVERY"] = "child"  # the server leaves webhooks to it
            webhooks = webhook_process(getattr(args, "config", None))
            webhooks.start()
        from infra.wiring.builtin_scanner import builtin_scanner_process

        scanner = builtin_scanner_process(settings, getattr(args, "config", None))
        if scanner is not None:
            scanner.start()
        try:
            serve_http(settings, args.server)
        finally:
            if webhooks is not None:
                webhooks.stop()
            if scanner is not None:
                scanner.stop()
        return 0
    finally:
        if lock is not None:
            lock.release()


def _lock_for_serve(settings):
    """Hold the data directory for this server (SQLite); the webhook process a server starts
    shares its server's lock instead."""
    from infra.store.data_dir_lock import DataDirBusy, data_dir_lock
    from infra.wiring.parent_watch import SERVER_PID

    lock = data_dir_lock(settings)
    if lock is None:
        return None
    started_by_server = os.environ.get(SERVER_PID) == str(os.getppid())
    if settings.role == "webhooks" and started_by_server and lock.holder() == os.getppid():
        return None
    try:
        lock.acquire(f"serve --role {settings.role}")
    except DataDirBusy as busy:
        raise CliError(busy.message) from None
    return lock


def _run_workers(settings) -> int:
    """`serve --role workers` (log followers and background jobs) or `--role webhooks`
    (webhook dispatch and delivery only): no HTTP."""
    import signal
    import threading

    from infra.wiring.parent_watch import exit_with_server
    from infra.wiring.registry import build_registry
    from infra.wiring.serve import describe

    if settings.role == "webhooks":
        exit_with_server()  # when started by `tidemark serve`
        os.nice(max(0, min(19, settings.webhook_nice)))
    registry = build_registry(settings)
    registry.start(follow=True, role=settings.role)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"tidemark {settings.role} running ({describe(settings)}); Ctrl-C or SIGTERM stops them",
          file=sys.stderr, flush=True)
    stop.wait()
    registry.close()
    return 0


def add_parser(sub) -> None:
    serve = sub.add_parser("serve", help="run the registry server")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--data-dir", default=argparse.SUPPRESS)
    serve.add_argument("--role", choices=["all", "write", "read", "workers", "webhooks"], default=None)
    serve.add_argument("--server", choices=["granian", "uvicorn"], default="granian",
                       help="ASGI server (granian by default, see docs/adr)")
    serve.set_defaults(func=cmd_serve)
