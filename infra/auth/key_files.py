"""Key files: private files (mode 0600) created atomically, refused when others can read them,
and a ledger of the key ids a registry has used (ids only: never the keys).

The ledger lives in the registry's database, so every process and every node sees it: a
process that finds its key file missing can tell a fresh installation (nothing recorded,
make a key) from a lost or unmounted one (a key was in use: making another would split
the registry in two).
"""

import os
import secrets
from datetime import datetime, timezone
from pathlib import Path

from infra.store.sql import Database


class StartupRefused(Exception):
    """The registry must not start as it stands; the message says why and what to do."""


LEDGER = """CREATE TABLE IF NOT EXISTS key_ledger (
    purpose TEXT NOT NULL, kid TEXT NOT NULL, recorded_at TEXT NOT NULL,
    PRIMARY KEY (purpose, kid))"""


def create_private(path: Path, data: bytes) -> bool:
    """Write `path` (mode 0600) unless it exists; True if this call made it. Written aside
    and linked into place, so a process racing another never reads half a key, and the
    one that loses the race reads the winner's."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(aside, path)
        except FileExistsError:
            return False
        return True
    finally:
        aside.unlink(missing_ok=True)


def replace_private(path: Path, data: bytes) -> None:
    """Write `path` (mode 0600) in one step, whether or not it exists (key rotation)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(aside, path)


def read_private(path: Path) -> bytes | None:
    """The file's bytes, None if it does not exist; StartupRefused if group or others may
    read or write it (the key may have been copied: it is not used, nor fixed silently)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StartupRefused(f"cannot read the key file {path}: {error.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode & 0o777
        if mode & 0o077:
            raise StartupRefused(
                f"the key file {path} is readable by other users (mode {mode:04o}); make it "
                f"private with `chmod 600 {path}`, and replace the key if others may have read it")
        return handle.read()


def recorded_ids(db: Database, purpose: str) -> list[str]:
    """Key ids recorded for `purpose`, oldest first (a read: the webhook process must not
    take the views' write lock for it)."""
    try:
        rows = db.read("SELECT kid FROM key_ledger WHERE purpose = ? ORDER BY recorded_at, kid",
                       (purpose,))
    except Exception as error:  # sqlite3 and psycopg name the missing table alike
        if "key_ledger" not in str(error):
            raise
        return []  # nothing was ever recorded
    return [row[0] for row in rows]


def record_id(db: Database, purpose: str, kid: str, replace: bool = False) -> None:
    """Record that `kid` is in use for `purpose` (with `replace`, as the only one)."""
    with db.write() as w:
        w.execute(LEDGER)
        if replace:
            w.execute("DELETE FROM key_ledger WHERE purpose = ? AND kid <> ?", (purpose, kid))
        w.execute("INSERT INTO key_ledger VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                  (purpose, kid, datetime.now(timezone.utc).isoformat()))


def forget_id(db: Database, purpose: str, kid: str) -> None:
    with db.write() as w:
        w.execute(LEDGER)
        w.execute("DELETE FROM key_ledger WHERE purpose = ? AND kid = ?", (purpose, kid))
