"""Which process runs a worker that must run once (the webhook sender, the scan worker): a
lease row with an expiry, renewed while the holder lives.

Sending happens outside any transaction (a slow receiver must never hold a
database lock), so the position row lock that keeps dispatchers apart cannot
keep senders apart. This lease does, on SQLite and PostgreSQL alike: a process
that does not hold it stands by, and takes over when the holder stops renewing.
"""

import os
import socket
import time
import uuid

from infra.store.sql import Database

TABLE = """CREATE TABLE IF NOT EXISTS worker_leases (
    name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL)"""


class SqlLease:
    def __init__(self, db: Database, name: str, ttl: float = 15.0) -> None:
        self.db = db
        self.name = name
        self.ttl = ttl
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._held_until = 0.0

    def setup(self) -> None:
        with self.db.write() as w:
            w.execute(TABLE)

    def acquire(self) -> bool:
        """Hold (or renew) the lease; False while another live process holds it."""
        now = time.time()
        if now < self._held_until - 2 * self.ttl / 3:
            return True  # renewed less than a third of the lease ago
        expires = int((now + self.ttl) * 1000)
        with self.db.write() as w:
            w.execute("INSERT INTO worker_leases VALUES (?, ?, 0) ON CONFLICT DO NOTHING",
                      (self.name, self.holder))
            held = w.execute("UPDATE worker_leases SET holder = ?, expires_at = ? WHERE name = ? "
                             "AND (holder = ? OR expires_at < ?) RETURNING holder",
                             (self.holder, expires, self.name, self.holder, int(now * 1000)))
        self._held_until = now + self.ttl if held else 0.0
        return bool(held)

    def release(self) -> None:
        self._held_until = 0.0
        with self.db.write() as w:
            w.execute("UPDATE worker_leases SET expires_at = 0 WHERE name = ? AND holder = ?",
                      (self.name, self.holder))
