"""Which process relays: a lease that one process holds at a time.

A relay publishes outside any database transaction (a broker that is down must
never hold the write path), so the position row lock that projectors use cannot
keep two relays apart. This lease does: a file lock in the data directory for
SQLite, a session advisory lock on PostgreSQL. A process that does not hold it
stands by and tries again; when the holder dies, its lock goes with it.
"""

import fcntl
import os
import zlib
from pathlib import Path

import structlog

log = structlog.get_logger("relay_lease")


class FileLease:
    """An exclusive `flock` on a file (one data directory, any number of processes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Hold the lease (again); False if another process holds it."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


class PostgresLease:
    """A session-level `pg_try_advisory_lock` on a connection of its own."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.key = zlib.crc32(f"tidemark-relay:{name}".encode())
        self._conn = None

    def acquire(self) -> bool:
        """Hold the lease (again): checks that the holding session is still alive, since
        a lost connection loses the lock with it."""
        import psycopg

        if self._conn is not None:
            try:
                self._conn.execute("SELECT 1")
                return True
            except psycopg.Error:
                log.warning("relay lease connection lost", key=self.key)
                self.release()
        try:
            conn = psycopg.connect(self.url, autocommit=True)
        except psycopg.Error:
            return False
        held = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()[0]
        if not held:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # the session is gone either way
                pass
            self._conn = None


def relay_lease_for(settings, name: str):
    """The lease for the relay `name` on the configured store."""
    if settings.uses_postgres:
        return PostgresLease(settings.database_url, name)
    settings.data_path.mkdir(parents=True, exist_ok=True)
    return FileLease(settings.data_path / f"relay-{name}.lock")
