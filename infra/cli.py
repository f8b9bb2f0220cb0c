"""The `tidemark` command line."""

import argparse
import os
import sys

import msgspec

from infra.settings import SettingsError, load_settings


def _settings(args):
    return load_settings(getattr(args, "config", None), data_dir=getattr(args, "data_dir", None))


def _registry(args):
    from infra.registry import build_registry

    registry = build_registry(_settings(args))
    registry.start(follow=False)
    return registry


def cmd_serve(args) -> int:
    overrides = {"TIDEMARK_HOST": args.host, "TIDEMARK_PORT": args.port,
                 "TIDEMARK_DATA_DIR": args.data_dir, "TIDEMARK_ROLE": args.role}
    for key, value in overrides.items():
        if value is not None:
            os.environ[key] = str(value)
    settings = _settings(args)
    if settings.role in ("workers", "webhooks"):
        return _run_workers(settings)
    from infra.key_setup import prepare_to_serve

    prepare_to_serve(settings)
    webhooks = None
    if settings.role == "all" and settings.webhook_delivery in ("auto", "child"):
        from infra.webhook_process import WebhookProcess

        os.environ["TIDEMARK_WEBHOOK_DELIVERY"] = "child"  # the server leaves webhooks to it
        webhooks = WebhookProcess(getattr(args, "config", None))
        webhooks.start()
    try:
        _serve_http(args, settings)
    finally:
        if webhooks is not None:
            webhooks.stop()
    return 0


def _serve_http(args, settings) -> None:
    if args.server == "uvicorn":
        import uvicorn

        uvicorn.run("infra.app:asgi_app", factory=True, host=settings.host, port=settings.port,
                    loop="uvloop", http="httptools", access_log=False, log_level="warning")
        return
    from granian import Granian

    from infra.parent_watch import SERVER_PID

    os.environ[SERVER_PID] = str(os.getpid())  # its workers exit if this process dies
    Granian("infra.app:asgi_app", factory=True, interface="asgi", address=settings.host,
            port=settings.port, workers=1, loop="uvloop", http="1", websockets=False,
            log_access=False, log_level="warning").serve()


def _run_workers(settings) -> int:
    """`serve --role workers` (log followers and background jobs) or `--role webhooks`
    (webhook dispatch and delivery only): no HTTP."""
    import signal
    import threading

    from infra.parent_watch import exit_with_server
    from infra.registry import build_registry

    if settings.role == "webhooks":
        exit_with_server()  # when started by `tidemark serve`
        os.nice(max(0, min(19, settings.webhook_nice)))
    registry = build_registry(settings)
    registry.start(follow=True, role=settings.role)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"tidemark {settings.role} running; Ctrl-C or SIGTERM stops them", file=sys.stderr,
          flush=True)
    stop.wait()
    registry.close()
    return 0


def _with_registry(args, action) -> int:
    registry = _registry(args)
    try:
        return action(registry)
    finally:
        registry.close()


def cmd_projects_create(args) -> int:
    from commands.messages import CreateProject
    from domain.base import Actor

    registry = _registry(args)
    try:
        registry.commands.create_project(CreateProject(args.name, not args.private, Actor(name="cli")))
        registry.projector.catch_up()
        print(f"created project {args.name} ({'private' if args.private else 'public'})")
    finally:
        registry.close()
    return 0


def cmd_projections_status(args) -> int:
    registry = _registry(args)
    try:
        head = registry.app.head()
        for projector in registry.projectors:
            if args.name and projector.name != args.name:
                continue
            position = projector.position()
            print(f"{projector.name}\tposition {position}\thead {head}\tlag {head - position}")
    finally:
        registry.close()
    return 0


def cmd_projections_rebuild(args) -> int:
    from projections.rebuild import rebuild

    registry = _registry(args)
    # Only query models rebuild; log followers with outside effects (the Kafka relay) do not.
    views = [p for p in registry.projectors if getattr(p.view, "tables", ())]
    chosen = [p for p in views if not args.name or p.name == args.name]
    if not chosen:
        print(f"no projection named {args.name}", file=sys.stderr)
        registry.close()
        return 2

    def progress(reached: int, head: int) -> None:
        width = 30
        done = width * reached // max(head, 1)
        print(f"\r[{'#' * done}{'.' * (width - done)}] {reached}/{head} events", end="", file=sys.stderr)

    try:
        for projector in chosen:
            digest = rebuild(projector.app, projector.db, type(projector.view), projector, progress)
            print(f"\nrebuilt {projector.name}: checksum {digest}")
    finally:
        registry.close()
    return 0


def cmd_events_export(args) -> int:
    from infra.event_export import export_events

    registry = _registry(args)
    try:
        for line in export_events(registry.app, args.start, args.stop):
            sys.stdout.buffer.write(line + b"\n")
    finally:
        registry.close()
    return 0


def cmd_events_verify(args) -> int:
    from infra.verify import verify

    registry = _registry(args)
    try:
        report = verify(registry, lambda message: print(message, file=sys.stderr))
    finally:
        registry.close()
    print(msgspec.json.encode(report).decode())
    return 0 if report.ok else 1


def cmd_gc(args) -> int:
    """Collect garbage in this data directory (stop the server first, or use the API)."""
    registry = _registry(args)

    def bar(progress: dict) -> None:
        total = max(progress.get("total", 0), 1)
        width = 30
        done = width * progress.get("done", 0) // total
        print(f"\r{progress['phase']:<7} [{'#' * done}{'.' * (width - done)}] "
              f"{progress.get('done', 0)}/{progress.get('total', 0)}", end="", file=sys.stderr)

    try:
        run_id = registry.collector.run(args.dry_run, args.delete_untagged, bar)
        registry.catch_up()
        row = registry.gc.run(run_id)
        verb = "would free" if args.dry_run else "freed"
        print(f"\ngarbage collection {run_id}: {row[4]}, unlinked {row[7]}, {verb} {row[5]} blobs, "
              f"{row[6]} bytes")
    finally:
        registry.close()
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
    export.add_argument("--from", dest="start", default=None, help="first position (inclusive)")
    export.add_argument("--to", dest="stop", default=None, help="last position (inclusive)")
    export.add_argument("--data-dir", default=argparse.SUPPRESS)
    export.set_defaults(func=cmd_events_export)
    check = events.add_parser("verify", help="check the hash chain and replay the log against the query models")
    check.add_argument("--data-dir", default=argparse.SUPPRESS)
    check.set_defaults(func=cmd_events_verify)
    from infra.keys_cli import add_keys_parser

    add_keys_parser(sub, _with_registry)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from infra.logging import configure_logging

    try:
        settings = _settings(args)
    except SettingsError as error:
        print(f"tidemark: invalid setting {error}", file=sys.stderr)
        return 2
    configure_logging(settings.resolved_log_format, settings.log_level)
    from infra.key_files import StartupRefused

    try:
        return args.func(args)
    except StartupRefused as error:  # an exposed or missing key, a refused rotation step
        print(f"tidemark: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
