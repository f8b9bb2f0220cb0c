"""`tidemark projections status|rebuild`: the query models' positions, and rebuilding them."""

import argparse
import sys

from infra.wiring.cli.common import CliError, registry_for


def cmd_projections_status(args) -> int:
    with registry_for(args, "projections status", writes=False) as registry:
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

    with registry_for(args, "projections rebuild") as registry:
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


def add_parser(sub) -> None:
    projections = sub.add_parser("projections", help="query models").add_subparsers(dest="verb", required=True)
    status = projections.add_parser("status", help="position and lag of each projection")
    status.add_argument("name", nargs="?")
    status.add_argument("--data-dir", default=argparse.SUPPRESS)
    status.set_defaults(func=cmd_projections_status)
    rebuild = projections.add_parser("rebuild", help="rebuild from the event log")
    rebuild.add_argument("name", nargs="?")
    rebuild.add_argument("--data-dir", default=argparse.SUPPRESS)
    rebuild.set_defaults(func=cmd_projections_rebuild)
