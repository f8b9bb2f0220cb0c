"""The `tidemark` command line."""

import argparse
import os
import sys
from contextlib import contextmanager

import msgspec

from infra.settings import PREFIX, SettingsError, load_settings, unknown_environment


def _settings(args):
    return load_settings(getattr(args, "config", None), data_dir=getattr(args, "data_dir", None))


class CliError(Exception):
    """A mistake or a refusal the CLI reports in one line (exit status 2)."""


@contextmanager
def _registry(args, verb: str, writes: bool = True):
    """The registry of the data directory, for one CLI verb.

    On the embedded default the verb holds the data directory's lock while it runs, and
    catches the query models up first (which writes). A verb that only reads may run beside
    a live server: it then reads the stores as the server keeps them and writes nothing."""
    from infra.store.data_dir_lock import DataDirBusy, data_dir_lock
    from infra.wiring.registry import build_registry

    settings = _settings(args)
    lock = data_dir_lock(settings)
    beside_server = False
    if lock is not None:
        try:
            lock.acquire(verb)
        except DataDirBusy as busy:
            if writes or not busy.is_server:
                raise CliError(busy.message) from None
            beside_server = True
    try:
        registry = build_registry(settings)
        try:
            if not beside_server:
                registry.start(follow=False)
            yield registry
        finally:
            registry.close()
    finally:
        if lock is not None:
            lock.release()


def cmd_serve(args) -> int:
    overrides = {"TIDEMARK_HOST": args.host, "TIDEMARK_PORT": args.port,
                 "TIDEMARK_DATA_DIR": args.data_dir, "TIDEMARK_ROLE": args.role}
    for key, value in overrides.items():
        if value is not None:
            os.environ[key] = str(value)
    settings = _settings(args)
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
            from infra.wiring.webhook_process import WebhookProcess

            os.environ["TIDEMARK_WEBHOOK_DELIVERY"] = "child"  # the server leaves webhooks to it
            webhooks = WebhookProcess(getattr(args, "config", None))
            webhooks.start()
        try:
            serve_http(settings, args.server)
        finally:
            if webhooks is not None:
                webhooks.stop()
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


def _with_registry(args, action) -> int:
    """Run a `keys` verb on the data directory's registry (status only reads)."""
    with _registry(args, f"keys {args.verb}", writes=args.verb != "status") as registry:
        return action(registry)


def cmd_projects_create(args) -> int:
    from commands.artifacts.messages import CreateProject
    from domain.base import Actor

    with _registry(args, "projects create") as registry:
        registry.commands.create_project(CreateProject(args.name, not args.private, Actor(name="cli")))
        registry.projector.catch_up()
        print(f"created project {args.name} ({'private' if args.private else 'public'})")
    return 0


def cmd_projections_status(args) -> int:
    with _registry(args, "projections status", writes=False) as registry:
        known = [projector.name for projector in registry.projectors]
        if args.name and args.name not in known:
            raise CliError(f"no projection named {args.name!r}; known: {', '.join(known)}")
        head = registry.app.head()
        for projector in registry.projectors:
            if args.name and projector.name != args.name:
                continue
            position = projector.position()
            print(f"{projector.name}\tposition {position}\thead {head}\tlag {head - position}")
    return 0


def cmd_projections_rebuild(args) -> int:
    from projections.rebuild import rebuild

    def progress(reached: int, head: int) -> None:
        width = 30
        done = width * reached // max(head, 1)
        print(f"\r[{'#' * done}{'.' * (width - done)}] {reached}/{head} events", end="", file=sys.stderr)

    with _registry(args, "projections rebuild") as registry:
        # Only query models rebuild; log followers with outside effects (the Kafka relay) do not.
        views = [p for p in registry.projectors if getattr(p.view, "tables", ())]
        chosen = [p for p in views if not args.name or p.name == args.name]
        if not chosen:
            raise CliError(f"no projection named {args.name!r}; known: "
                           f"{', '.join(p.name for p in views)}")
        for projector in chosen:
            digest = rebuild(projector.app, projector.db, type(projector.view), projector, progress)
            print(f"\nrebuilt {projector.name}: checksum {digest}")
    return 0


def cmd_events_export(args) -> int:
    from infra.store.event_export import BadBound, export_events, resolve_bound

    with _registry(args, "events export", writes=False) as registry:
        try:
            start = resolve_bound(registry.db, args.start, "from")
            stop = resolve_bound(registry.db, args.stop, "to")
        except BadBound as error:
            raise CliError(str(error)) from None
        for line in export_events(registry.app, start, stop):
            sys.stdout.buffer.write(line + b"\n")
    return 0


def cmd_events_verify(args) -> int:
    from infra.store.verify import verify

    # It catches the live views up and compares them with a replay: beside a live server the
    # views would move under the comparison, so it holds the data directory like a writer.
    with _registry(args, "events verify") as registry:
        report = verify(registry, lambda message: print(message, file=sys.stderr))
    print(msgspec.json.encode(report).decode())
    return 0 if report.ok else 1


def cmd_gc(args) -> int:
    """Collect garbage in this data directory (stop the server first, or use the API)."""
    def bar(progress: dict) -> None:
        total = max(progress.get("total", 0), 1)
        width = 30
        done = width * progress.get("done", 0) // total
        print(f"\r{progress['phase']:<7} [{'#' * done}{'.' * (width - done)}] "
              f"{progress.get('done', 0)}/{progress.get('total', 0)}", end="", file=sys.stderr)

    with _registry(args, "gc") as registry:
        run_id = registry.collector.run(args.dry_run, args.delete_untagged, bar)
        registry.catch_up()
        row = registry.gc.run(run_id)
        verb = "would free" if args.dry_run else "freed"
        print(f"\ngarbage collection {run_id}: {row[4]}, unlinked {row[7]}, {verb} {row[5]} blobs, "
              f"{row[6]} bytes")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tidemark", description="Tidemark OCI registry")
    parser.add_argument("--config", help="YAML file with settings (same keys as TIDEMARK_*)")
    parser.add_argument("--data-dir", default=None, help="where the embedded default keeps data")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the registry server")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--data-dir", default=argparse.SUPPRESS)
    serve.add_argument("--role", choices=["all", "write", "read", "workers", "webhooks"], default=None)
    serve.add_argument("--server", choices=["granian", "uvicorn"], default="granian",
                       help="ASGI server (granian by default, see docs/adr)")
    serve.set_defaults(func=cmd_serve)

    projects = sub.add_parser("projects", help="manage projects").add_subparsers(dest="verb", required=True)
    create = projects.add_parser("create", help="create a project")
    create.add_argument("name")
    create.add_argument("--private", action="store_true", help="no anonymous pull")
    create.add_argument("--data-dir", default=argparse.SUPPRESS)
    create.set_defaults(func=cmd_projects_create)

    projections = sub.add_parser("projections", help="query models").add_subparsers(dest="verb", required=True)
    status = projections.add_parser("status", help="position and lag of each projection")
    status.add_argument("name", nargs="?")
    status.add_argument("--data-dir", default=argparse.SUPPRESS)
    status.set_defaults(func=cmd_projections_status)
    rebuild = projections.add_parser("rebuild", help="rebuild from the event log")
    rebuild.add_argument("name", nargs="?")
    rebuild.add_argument("--data-dir", default=argparse.SUPPRESS)
    rebuild.set_defaults(func=cmd_projections_rebuild)

    gc = sub.add_parser("gc", help="collect unreferenced blobs (stop the server first, or use the API)")
    gc.add_argument("--dry-run", action="store_true", help="report what would be freed; delete nothing")
    gc.add_argument("--delete-untagged", action="store_true", help="delete untagged artifacts first")
    gc.add_argument("--data-dir", default=argparse.SUPPRESS)
    gc.set_defaults(func=cmd_gc)

    events = sub.add_parser("events", help="the event log").add_subparsers(dest="verb", required=True)
    export = events.add_parser("export", help="write events as JSON lines to stdout")
    export.add_argument("--from", dest="start", default=None,
                        help="first event: a position, or an RFC 3339 time (the first event at or after it)")
    export.add_argument("--to", dest="stop", default=None,
                        help="last event: a position, or an RFC 3339 time (the last event at or before it)")
    export.add_argument("--data-dir", default=argparse.SUPPRESS)
    export.set_defaults(func=cmd_events_export)
    check = events.add_parser("verify", help="check the hash chain and replay the log against the query models")
    check.add_argument("--data-dir", default=argparse.SUPPRESS)
    check.set_defaults(func=cmd_events_verify)
    from infra.wiring.keys_cli import add_keys_parser

    add_keys_parser(sub, _with_registry)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from domain.errors import RegistryError
    from infra.http.logging import configure_logging
    from infra.wiring.parent_watch import SERVER_PID

    try:
        settings = _settings(args)
    except SettingsError as error:
        print(f"tidemark: {error}", file=sys.stderr)
        return 2
    if SERVER_PID not in os.environ:  # said once, by the process the operator started
        for name, guess in unknown_environment():
            hint = f"; did you mean {PREFIX}{guess.upper()}?" if guess else " (ignored)"
            print(f"tidemark: warning: {name} is not a Tidemark setting{hint}", file=sys.stderr)
    configure_logging(settings.resolved_log_format, settings.log_level)
    from infra.auth.key_files import StartupRefused

    try:
        return args.func(args)
    except StartupRefused as error:  # an exposed or missing key, a refused rotation step
        print(f"tidemark: {error}", file=sys.stderr)
        return 2
    except (CliError, SettingsError) as error:
        print(f"tidemark: {error}", file=sys.stderr)
        return 2
    except RegistryError as error:  # e.g. `projects create` of a name that exists
        print(f"tidemark: {error.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
