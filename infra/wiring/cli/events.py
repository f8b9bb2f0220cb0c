"""`tidemark events export|verify`: the raw log, and checking it against the query models."""

import argparse
import sys

import msgspec

from infra.wiring.cli.common import CliError, registry_for


def cmd_events_export(args) -> int:
    from infra.store.event_export import BadBound, export_events, resolve_bound

    with registry_for(args, "events export", writes=False) as registry:
        try:
            start = resolve_bound(registry.db, args.start, "from")
            stop = resolve_bound(registry.db, args.stop, "to")
        except BadBound as error:
            raise CliError(str(error)) from None
        for line in export_events(registry.app, start, stop):
            sys.stdout.buffer.write(line + b"\n")
    return 0


def cmd_events_verify(args) -> int:
    from infra.wiring.verify import verify

    # It catches the live views up and compares them with a replay: beside a live server the
    # views would move under the comparison, so it holds the data directory like a writer.
    with registry_for(args, "events verify") as registry:
        report = verify(registry, lambda message: print(message, file=sys.stderr))
    print(msgspec.json.encode(report).decode())
    return 0 if report.ok else 1


def add_parser(sub) -> None:
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
