"""Password and robot-secret hashes, kept apart from the event log.

Hashes are argon2id (argon2-cffi). They live in the query-model database in
a table no projection rebuild touches; the events only say that a password
or secret was set.
"""

import threading
from datetime import datetime, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from infra.store.sql import Database

TABLE = """CREATE TABLE IF NOT EXISTS credentials (
    principal TEXT PRIMARY KEY, hash TEXT NOT NULL, updated_at TEXT NOT NULL)"""


class CredentialStore:
    def __init__(self, db: Database, hasher: PasswordHasher | None = None, cache=None) -> None:
        from projections.cache import ViewCache

        self.db = db
        self.hasher = hasher or PasswordHasher()
        # Stored hashes by principal; this store drops an entry itself whenever it writes one.
        self.cache = cache or ViewCache(enabled=False)
        self._lock = threading.Lock()
        self.observers: list = []  # callables (principal), told after a secret was set
        with db.write() as w:
            w.execute(TABLE)

    def set(self, principal: str, secret: str) -> None:
        self.set_hash(principal, self.hasher.hash(secret))

    def set_hash(self, principal: str, hashed: str) -> None:
        """Keep a hash made elsewhere (metadata replication brings a robot's from its source)."""
        now = datetime.now(timezone.utc).isoformat()
        with self.db.write() as w:
            w.execute("INSERT INTO credentials VALUES (?, ?, ?) ON CONFLICT (principal) "
                      "DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at",
                      (principal, hashed, now))
        self.cache.invalidate({("credential", principal)})
        for observe in self.observers:
            observe(principal)

    def current_hash(self, principal: str) -> str | None:
        """The stored hash (it changes whenever the password or secret does)."""
        def load():
            rows = self.db.read("SELECT hash FROM credentials WHERE principal = ?", (principal,))
            return rows[0][0] if rows else None
        return self.cache.load(("credential", principal), load)

    def verify(self, principal: str, secret: str) -> bool:
        rows = self.db.read("SELECT hash FROM credentials WHERE principal = ?", (principal,))
        if not rows:
            # Spend the same time as a real check so timing does not reveal unknown names.
            try:
                self.hasher.verify(self._dummy(), secret)
            except VerificationError:
                pass
            return False
        try:
            return self.hasher.verify(rows[0][0], secret)
        except (VerificationError, InvalidHashError):
            return False

    def delete(self, principal: str) -> None:
        with self.db.write() as w:
            w.execute("DELETE FROM credentials WHERE principal = ?", (principal,))
        self.cache.invalidate({("credential", principal)})

    def _dummy(self) -> str:
        with self._lock:
            if not hasattr(self, "_dummy_hash"):
                self._dummy_hash = self.hasher.hash("not a real secret")
            return self._dummy_hash
