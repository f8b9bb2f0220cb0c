"""`tidemark vulndb import FILE|DIR ...`: OSV records into the scanner's database, all or
nothing, with progress on stderr; `tidemark vulndb status` says what it holds."""

import argparse
import sys
import time
from pathlib import Path

from infra.wiring.cli.common import CliError
from infra.wiring.cli.scanner import scanner_settings


class _Progress:
    """A bar when the number of files is known and stderr is a terminal, else a count line
    every few seconds."""

    def __init__(self, total: int) -> None:
        self.total, self.files, self.records = total, 0, 0
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def file_done(self) -> None:
        self.files += 1
        self.show()

    def record_done(self, count: int) -> None:
        self.records = count

    def show(self, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        if self.tty:
            width = 30
            done = width * self.files // max(self.total, 1)
            print(f"\rimporting [{'#' * done}{'.' * (width - done)}] {self.files}/{self.total} files, "
                  f"{self.records} records", end="\n" if final else "", file=sys.stderr, flush=True)
        elif not final or self.files:
            print(f"importing: {self.files}/{self.total} files, {self.records} records", file=sys.stderr,
                  flush=True)


def cmd_import(args) -> int:
    from domain.scanning.osv import InvalidRecord
    from infra.scanner.osv_files import Sources
    from infra.scanner.vulndb import ImportRefused, VulnDb

    settings = scanner_settings(args)
    try:
        sources = Sources([Path(p) for p in args.paths])
    except (FileNotFoundError, InvalidRecord) as error:
        raise CliError(f"vulndb import: {error}; nothing was imported") from None
    progress = _Progress(sources.total)
    database = VulnDb(settings.database_path)
    try:
        summary = database.import_records(sources.records(progress.file_done), ", ".join(args.paths),
                                          progress.record_done)
    except ImportRefused as refused:
        if progress.tty:
            print(file=sys.stderr)
        database.close()
        raise CliError(f"vulndb import: {refused}; nothing was imported") from None
    progress.show(final=True)
    print(f"imported {summary.records} records ({summary.added} new, {summary.replaced} replaced, "
          f"{summary.kept} kept as a newer version was stored) into {settings.database_path}; "
          f"database updated at {summary.imported_at}")
    if summary.added or summary.replaced:
        _rematch(settings, database, summary.number)
    database.close()
    return 0


def _rematch(settings, database, number: int) -> None:
    """The scanned images the new records hit, from their stored inventories."""
    from infra.scanner.inventories import InventoryStore
    from infra.scanner.rematch import rematch

    if not settings.inventories_path.exists():
        return
    store = InventoryStore(settings.inventories_path)
    try:
        shown = _Progress(0)

        def progress(done: int, total: int) -> None:
            if shown.tty or done == total or time.monotonic() - shown.last >= 5.0:
                shown.last = time.monotonic()
                start = "\r" if shown.tty else ""
                end = "" if shown.tty and done < total else "\n"
                print(f"{start}re-matching scanned images: {done}/{total}", end=end, file=sys.stderr, flush=True)

        found = rematch(database, store, number, progress)
    finally:
        store.close()
    print(f"re-matched {found.images} scanned images against the new records in {found.seconds:.2f} s: "
          f"{found.affected_images} newly affected ({found.findings} new findings)")


def cmd_status(args) -> int:
    from infra.scanner.vulndb import VulnDb

    settings = scanner_settings(args)
    database = VulnDb(settings.database_path)
    try:
        print(f"{settings.database_path}: {database.record_count()} records, "
              f"updated at {database.updated_at() or 'never'}")
    finally:
        database.close()
    return 0


def add_parser(sub) -> None:
    vulndb = sub.add_parser("vulndb", help="the built-in scanner's vulnerability database (OSV format)")
    verbs = vulndb.add_subparsers(dest="vulndb_command", required=True)
    importer = verbs.add_parser("import", help="import OSV records: osv.dev zip dumps, JSON files, directories")
    importer.add_argument("paths", nargs="+", metavar="FILE|DIR")
    importer.add_argument("--data-dir", default=argparse.SUPPRESS,
                          help="data directory; the database is <data-dir>/scanner/vulndb.sqlite")
    importer.set_defaults(func=cmd_import)
    status = verbs.add_parser("status", help="how many records the database holds and when it was imported")
    status.add_argument("--data-dir", default=argparse.SUPPRESS)
    status.set_defaults(func=cmd_status)
