"""The `tidemark` command line: its parser (each verb adds its own part) and its exits."""

import argparse
import os
import sys

from infra.settings import PREFIX, SettingsError, unknown_environment
from infra.wiring.cli import events, gc, keys, projections, projects, scanner, serve, vulndb
from infra.wiring.cli.common import CliError, settings_of

VERBS = (serve, projects, projections, gc, events, keys, scanner, vulndb)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tidemark", description="Tidemark OCI registry")
    parser.add_argument("--config", help="YAML file with settings (same keys as TIDEMARK_*)")
    parser.add_argument("--data-dir", default=None, help="where the embedded default keeps data")
    sub = parser.add_subparsers(dest="command", required=True)
    for verb in VERBS:
        verb.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from domain.errors import RegistryError
    from infra.http.logging import configure_logging
    from infra.wiring.parent_watch import SERVER_PID

    try:
        settings = settings_of(args)
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
