"""`tidemark gc`: garbage collection of this data directory, with a progress bar."""

import argparse
import sys

from infra.wiring.cli.common import registry_for


def cmd_gc(args) -> int:
    """Collect garbage in this data directory (stop the server first, or use the API)."""
    def bar(progress: dict) -> None:
        total = max(progress.get("total", 0), 1)
        width = 30
        done = width * progress.get("done", 0) // total
        print(f"\r{progress['phase']:<7} [{'#' * done}{'.' * (width - done)}] "
              f"{progress.get('done', 0)}/{progress.get('total', 0)}", end="", file=sys.stderr)

    with registry_for(args, "gc") as registry:
        run_id = registry.collector.run(args.dry_run, args.delete_untagged, bar)
        registry.catch_up()
        row = registry.gc.run(run_id)
        verb = "would free" if args.dry_run else "freed"
        print(f"\ngarbage collection {run_id}: {row[4]}, unlinked {row[7]}, {verb} {row[5]} blobs, "
              f"{row[6]} bytes")
    return 0


def add_parser(sub) -> None:
    gc = sub.add_parser("gc", help="collect unreferenced blobs (stop the server first, or use the API)")
    gc.add_argument("--dry-run", action="store_true", help="report what would be freed; delete nothing")
    gc.add_argument("--delete-untagged", action="store_true", help="delete untagged artifacts first")
    gc.add_argument("--data-dir", default=argparse.SUPPRESS)
    gc.set_defaults(func=cmd_gc)
