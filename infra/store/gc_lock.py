"""The lock that lets garbage collection run while pushes go on.

Pushes hold it shared for the few milliseconds in which they make bytes
reachable (store a blob and link it, store a manifest and record it). The
collector holds it exclusively only while it re-checks and removes one batch
of unreferenced links or blobs. So nothing becomes reachable between the
collector's last check and its delete, and pushes are paused for one batch at
most, never for the whole run.

In one process (SQLite) it is a readers-writer lock; on PostgreSQL it is an
advisory lock (shared or exclusive), so it holds across processes.
"""

import threading
from contextlib import contextmanager
from typing import Iterator

ADVISORY_KEY = 0x7D3A_6C00_0001


class LocalGcLock:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class PostgresGcLock:
    def __init__(self, pool) -> None:
        self.pool = pool

    @contextmanager
    def _held(self, kind: str) -> Iterator[None]:
        with self.pool.connection() as conn:
            conn.execute(f"SELECT pg_advisory_lock{kind}(%s)", (ADVISORY_KEY,))
            try:
                yield
            finally:
                conn.execute(f"SELECT pg_advisory_unlock{kind}(%s)", (ADVISORY_KEY,))

    def shared(self):
        return self._held("_shared")

    def exclusive(self):
        return self._held("")


def gc_lock_for(db):
    return PostgresGcLock(db.pool) if db.dialect == "postgres" else LocalGcLock()
