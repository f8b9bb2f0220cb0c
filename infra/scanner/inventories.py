"""The package inventories of the images the scanner has scanned, so that a database import
can find the images its new records hit without pulling any image again.

One SQLite file beside the database (`<data-dir>/scanner/inventories.sqlite`):
- `inventories`: per image digest, its system and packages (compressed JSON) and when read;
- `inventory_keys`: (ecosystem family, package name) -> digest, the index a re-match uses;
- `sources`: which registry and repository each digest was scanned for;
- `known_hits`: (digest, vulnerability, package, version) already reported, by the last
  scan or an earlier re-match, so a re-match reports only what is new;
- `affected`: what re-matches found, numbered, for the registry to read in order
  (`GET /api/v1/tidemark/affected?after=N`).
A scan replaces its digest's inventory and known hits. The file is the scanner's cache:
deleting it loses nothing but the re-match of images scanned before.
"""

import zlib
from typing import Iterable

import msgspec

from domain.scanning.inventory import OperatingSystem, Package
from domain.scanning.matching import Hit, key_of
from infra.scanner.sqlite_files import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS inventories (
    digest TEXT PRIMARY KEY, system BLOB NOT NULL, packages BLOB NOT NULL, scanned_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inventory_keys (
    family TEXT NOT NULL, name TEXT NOT NULL, digest TEXT NOT NULL,
    PRIMARY KEY (family, name, digest)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS inventory_keys_by_digest ON inventory_keys (digest);
CREATE TABLE IF NOT EXISTS sources (
    digest TEXT NOT NULL, registry TEXT NOT NULL, repository TEXT NOT NULL,
    PRIMARY KEY (digest, registry, repository)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS known_hits (
    digest TEXT NOT NULL, id TEXT NOT NULL, package TEXT NOT NULL, version TEXT NOT NULL,
    PRIMARY KEY (digest, id, package, version)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS affected (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT, import_number INTEGER NOT NULL, found_at TEXT NOT NULL,
    registry TEXT NOT NULL, repository TEXT NOT NULL, digest TEXT NOT NULL, hit BLOB NOT NULL);
"""
MAX_PAGE = 1000


class Inventory(msgspec.Struct):
    digest: str
    system: OperatingSystem
    packages: list[Package]


class Affected(msgspec.Struct):
    """One vulnerability a re-match found in one scanned image."""

    sequence: int
    import_number: int
    found_at: str
    registry: str
    repository: str
    digest: str
    hit: Hit


def _pack(value: object) -> bytes:
    return zlib.compress(msgspec.json.encode(value), 6)


def _hit_key(hit: Hit) -> tuple[str, str, str]:
    return hit.id, hit.package, hit.version


class InventoryStore(SqliteFile):
    """A connection per thread, as the vulnerability database."""

    schema, marker = SCHEMA, "affected"

    def remember(self, registry: str, repository: str, digest: str, system: OperatingSystem,
                 packages: list[Package], hits: Iterable[Hit], scanned_at: str) -> None:
        """A scan's inventory and what it reported, replacing the digest's earlier ones."""
        connection = self._connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute("DELETE FROM inventory_keys WHERE digest = ?", (digest,))
            connection.execute("DELETE FROM known_hits WHERE digest = ?", (digest,))
            connection.execute("INSERT OR REPLACE INTO inventories VALUES (?, ?, ?, ?)",
                               (digest, _pack(system), _pack(packages), scanned_at))
            connection.executemany("INSERT OR IGNORE INTO inventory_keys VALUES (?, ?, ?)",
                                   {(*key_of(p)[:2], digest) for p in packages})
            connection.executemany("INSERT OR IGNORE INTO known_hits VALUES (?, ?, ?, ?)",
                                   {(digest, *_hit_key(h)) for h in hits})
            connection.execute("INSERT OR IGNORE INTO sources VALUES (?, ?, ?)", (digest, registry, repository))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def digests_with(self, keys: Iterable[tuple[str, str]]) -> set[str]:
        connection = self._connect()
        found: set[str] = set()
        for family, name in keys:
            found.update(row[0] for row in connection.execute(
                "SELECT digest FROM inventory_keys WHERE family = ? AND name = ?", (family, name)))
        return found

    def inventory(self, digest: str) -> Inventory | None:
        row = self._connect().execute("SELECT system, packages FROM inventories WHERE digest = ?",
                                      (digest,)).fetchone()
        if row is None:
            return None
        return Inventory(digest, msgspec.json.decode(zlib.decompress(row[0]), type=OperatingSystem),
                         msgspec.json.decode(zlib.decompress(row[1]), type=list[Package]))

    def known(self, digest: str) -> set[tuple[str, str, str]]:
        return set(self._connect().execute(
            "SELECT id, package, version FROM known_hits WHERE digest = ?", (digest,)).fetchall())

    def record_affected(self, import_number: int, found_at: str, found: dict[str, list[Hit]]) -> int:
        """Store what one re-match found (digest -> new hits) in one transaction; how many rows."""
        connection = self._connect()
        rows = 0
        connection.execute("BEGIN IMMEDIATE")
        try:
            for digest, hits in found.items():
                sources = connection.execute("SELECT registry, repository FROM sources WHERE digest = ?",
                                             (digest,)).fetchall()
                connection.executemany("INSERT OR IGNORE INTO known_hits VALUES (?, ?, ?, ?)",
                                       [(digest, *_hit_key(h)) for h in hits])
                for registry, repository in sources:
                    connection.executemany(
                        "INSERT INTO affected (import_number, found_at, registry, repository, digest, hit) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        [(import_number, found_at, registry, repository, digest, msgspec.json.encode(h))
                         for h in hits])
                    rows += len(hits)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return rows

    def affected_after(self, sequence: int, limit: int = MAX_PAGE) -> list[Affected]:
        if not self.path.exists():
            return []
        rows = self._connect().execute(
            "SELECT sequence, import_number, found_at, registry, repository, digest, hit FROM affected "
            "WHERE sequence > ? ORDER BY sequence LIMIT ?", (sequence, max(1, min(limit, MAX_PAGE)))).fetchall()
        return [Affected(*row[:6], hit=msgspec.json.decode(row[6], type=Hit)) for row in rows]
