"""`tidemark scanner serve`: the built-in scanner adapter, a process of its own (issue 14).

Settings are `TIDEMARK_SCANNER_*` variables and these flags; it keeps its files in
`<data-dir>/scanner/`. It prints one `listening on` line when it answers and stops on
SIGTERM, so `tidemark serve` can run it as a child."""

import argparse
import sys

from infra.wiring.cli.common import CliError, settings_of


def scanner_settings(args, **overrides):
    from infra.scanner.settings import ScannerSettingsError, load_scanner_settings, unknown_scanner_environment

    for name, guess in unknown_scanner_environment():
        hint = f"; did you mean {guess}?" if guess else " (ignored)"
        print(f"tidemark: warning: {name} is not a scanner setting{hint}", file=sys.stderr)
    explicit = getattr(args, "data_dir", None)
    registry_dir = explicit or settings_of(args).data_dir
    try:
        return load_scanner_settings(registry_dir, data_dir=explicit if explicit else None, **overrides)
    except ScannerSettingsError as error:
        raise CliError(str(error)) from None


def cmd_scanner_serve(args) -> int:
    from infra.scanner.server import CannotServe, serve
    from infra.wiring.parent_watch import exit_with_server

    settings = scanner_settings(args, host=args.host, port=args.port, inventory=args.inventory)
    exit_with_server()  # when `tidemark serve` started it: gone with its server
    try:
        serve(settings)
    except CannotServe as error:
        raise CliError(str(error)) from None
    return 0


def add_parser(sub) -> None:
    scanner = sub.add_parser("scanner", help="the built-in vulnerability scanner (Harbor's scanner adapter API)")
    verbs = scanner.add_subparsers(dest="scanner_command", required=True)
    serve = verbs.add_parser("serve", help="serve the scanner adapter API v1.2 over HTTP")
    serve.add_argument("--host", default=None, help="address to listen on (TIDEMARK_SCANNER_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (TIDEMARK_SCANNER_PORT, 5001; 0 picks one)")
    serve.add_argument("--data-dir", default=argparse.SUPPRESS,
                       help="data directory; the scanner uses <data-dir>/scanner/ (TIDEMARK_SCANNER_DATA_DIR)")
    serve.add_argument("--inventory", choices=["builtin", "syft"], default=None,
                       help="how packages are found (TIDEMARK_SCANNER_INVENTORY, builtin)")
    serve.set_defaults(func=cmd_scanner_serve)
