"""The scanner's vulnerability database: OSV records in one SQLite file, found by package.

An import is one transaction: every record is checked as it is read, and the first invalid
one rolls everything back, so a database never holds half an import. SQLite's WAL journal
lets scans read the last committed state while an import writes; a second import waits for
the first. A record replaces the stored one of its id unless the stored one was modified
later. Matching reads the records of one (ecosystem family, package name) through an index.
"""

import sqlite3
from datetime import datetime, timezone
from typing import Callable, Iterable

import msgspec

from domain.scanning.osv import InvalidRecord, check_record
from infra.scanner.sqlite_files import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY, modified TEXT NOT NULL, withdrawn INTEGER NOT NULL, body BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS record_packages (
    family TEXT NOT NULL, name TEXT NOT NULL, record_id TEXT NOT NULL,
    PRIMARY KEY (family, name, record_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS record_packages_by_record ON record_packages (record_id);
CREATE TABLE IF NOT EXISTS imports (
    number INTEGER PRIMARY KEY, imported_at TEXT NOT NULL, source TEXT NOT NULL,
    records INTEGER NOT NULL, added INTEGER NOT NULL, replaced INTEGER NOT NULL, kept INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS import_records (
    import_number INTEGER NOT NULL, record_id TEXT NOT NULL, PRIMARY KEY (import_number, record_id)) WITHOUT ROWID;
"""


class ImportRefused(ValueError):
    """An import that stored nothing; the message names the file and the record."""


class ImportSummary(msgspec.Struct):
    records: int = 0
    added: int = 0
    replaced: int = 0
    kept: int = 0  # the stored record was modified later
    imported_at: str = ""
    number: int = 0  # the import's number, for a re-match of its added and replaced records


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class VulnDb(SqliteFile):
    """One SQLite file; a connection per thread (scans run in threads of their own)."""

    schema, marker = SCHEMA, "import_records"

    def updated_at(self) -> str | None:
        """When the last import committed (RFC 3339), None before the first."""
        if not self.path.exists():
            return None
        row = self._connect().execute("SELECT max(imported_at) FROM imports").fetchone()
        return row[0] if row and row[0] else None

    def record_count(self) -> int:
        if not self.path.exists():
            return 0
        return self._connect().execute("SELECT count(*) FROM records").fetchone()[0]

    def lookup(self, family: str, name: str) -> list[dict]:
        """The records that name this package, withdrawn ones included (matching skips them)."""
        rows = self._connect().execute(
            "SELECT r.body FROM record_packages p JOIN records r ON r.id = p.record_id "
            "WHERE p.family = ? AND p.name = ?", (family, name)).fetchall()
        return [msgspec.json.decode(row[0]) for row in rows]

    def import_records(self, records: Iterable[tuple[str, object]], source: str,
                       progress: Callable[[int], None] | None = None) -> ImportSummary:
        """Check and store (label, record) pairs in one transaction; ImportRefused on the
        first invalid record (or unreadable file, raised by the iterable as InvalidRecord),
        with nothing stored."""
        connection = self._connect()
        summary = ImportSummary()
        changed: list[str] = []
        connection.execute("BEGIN IMMEDIATE")
        try:
            for label, record in records:
                try:
                    keys = check_record(record)
                except InvalidRecord as error:
                    which = f"record {error.record_id}" if error.record_id else "a record without a valid id"
                    raise ImportRefused(f"{label}, {which}: {error.problem}") from None
                if self._store(connection, keys, record, summary):
                    changed.append(keys.id)
                summary.records += 1
                if progress is not None:
                    progress(summary.records)
            summary.imported_at = now_rfc3339()
            summary.number = connection.execute(
                "INSERT INTO imports (imported_at, source, records, added, replaced, kept) VALUES (?, ?, ?, ?, ?, ?)",
                (summary.imported_at, source[:1000], summary.records, summary.added, summary.replaced,
                 summary.kept)).lastrowid
            connection.executemany("INSERT OR IGNORE INTO import_records VALUES (?, ?)",
                                   [(summary.number, record_id) for record_id in changed])
            connection.execute("COMMIT")
        except InvalidRecord as error:  # a file that is no JSON, raised by `records`
            connection.execute("ROLLBACK")
            raise ImportRefused(error.problem) from None
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return summary

    @staticmethod
    def _store(connection: sqlite3.Connection, keys, record: object, summary: ImportSummary) -> bool:
        """Store one record unless a later version is stored; whether it was stored."""
        row = connection.execute("SELECT modified FROM records WHERE id = ?", (keys.id,)).fetchone()
        if row is not None and row[0] > keys.modified:
            summary.kept += 1
            return False
        if row is not None:
            connection.execute("DELETE FROM record_packages WHERE record_id = ?", (keys.id,))
            summary.replaced += 1
        else:
            summary.added += 1
        connection.execute("INSERT OR REPLACE INTO records (id, modified, withdrawn, body) VALUES (?, ?, ?, ?)",
                           (keys.id, keys.modified, int(keys.withdrawn), msgspec.json.encode(record)))
        connection.executemany("INSERT OR IGNORE INTO record_packages (family, name, record_id) VALUES (?, ?, ?)",
                               [(family, name, keys.id) for family, name in keys.packages])
        return True

    def changed_in(self, number: int) -> list[str]:
        """The ids of the records an import added or replaced."""
        return [row[0] for row in self._connect().execute(
            "SELECT record_id FROM import_records WHERE import_number = ?", (number,))]

    def package_keys(self, record_ids: list[str]) -> set[tuple[str, str]]:
        """The (ecosystem family, package name) pairs these records name."""
        connection = self._connect()
        keys: set[tuple[str, str]] = set()
        for record_id in record_ids:
            keys.update(connection.execute(
                "SELECT family, name FROM record_packages WHERE record_id = ?", (record_id,)).fetchall())
        return keys

