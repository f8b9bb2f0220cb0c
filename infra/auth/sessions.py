"""Portal sessions: what the `sid` cookie of a browser that signed in at `/c/login` stands for.

Kept apart from the event log, in the query-model database (so every node of a cluster sees
them), in a table no projection rebuild touches. Only a hash of the session token is stored:
whoever reads the database cannot sign in with what they read. A session names its user and
the password hash it was opened with: a password change, a deletion (and a re-creation under
the same name, with another hash) ends it. It ends after `idle` seconds without a request and
`lifetime` seconds after sign-in, whichever comes first, and at sign-out.

Each session has a CSRF token of its own (sent to the browser in the readable `__csrf`
cookie): a state-changing request that authenticates with the session cookie must repeat it
in the `X-Harbor-CSRF-Token` header, as Harbor's portal does.
"""

import hashlib
import hmac
import secrets
import time
from typing import Callable, NamedTuple

from infra.store.sql import Database

TABLE = """CREATE TABLE IF NOT EXISTS portal_sessions (
    token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, credential TEXT NOT NULL,
    csrf TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, seen_at DOUBLE PRECISION NOT NULL)"""
TOUCH_SECONDS = 30.0  # `seen_at` is written at most this often per session
SESSION_COOKIE = "sid"  # Harbor's names
CSRF_COOKIE = "__csrf"
CSRF_HEADER = "x-harbor-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Session(NamedTuple):
    username: str
    csrf: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _fingerprint(stored_hash: str) -> str:
    """What a session keeps of the password hash it was opened with (not the hash itself)."""
    return hashlib.sha256(stored_hash.encode()).hexdigest()


class Sessions:
    def __init__(self, db: Database, current_hash: Callable[[str], str | None], idle: float,
                 lifetime: float, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.idle = idle
        self.lifetime = lifetime
        self._current_hash = current_hash
        self._clock = clock
        with db.write() as w:
            w.execute(TABLE)

    def open(self, username: str) -> tuple[str, str]:
        """A new session for a user whose password was just checked: (token, csrf token)."""
        stored = self._current_hash(username) or ""
        token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(24), self._clock()
        with self.db.write() as w:
            w.execute("INSERT INTO portal_sessions VALUES (?, ?, ?, ?, ?, ?)",
                      (_hash(token), username, _fingerprint(stored), csrf, now, now))
            self._sweep(w, now)
        return token, csrf

    def find(self, token: str) -> Session | None:
        """The live session of a token, or None (unknown, expired, or its password changed)."""
        if not token or len(token) > 128:
            return None
        key, now = _hash(token), self._clock()
        rows = self.db.read("SELECT username, credential, csrf, created_at, seen_at FROM portal_sessions "
                            "WHERE token_hash = ?", (key,))
        if not rows:
            return None
        username, credential, csrf, created_at, seen_at = rows[0]
        stored = self._current_hash(username)
        if (now - seen_at > self.idle or now - created_at > self.lifetime or stored is None
                or not hmac.compare_digest(credential, _fingerprint(stored))):
            self.close(token)
            return None
        if now - seen_at > TOUCH_SECONDS:
            with self.db.write() as w:
                w.execute("UPDATE portal_sessions SET seen_at = ? WHERE token_hash = ?", (now, key))
        return Session(username, csrf)

    def close(self, token: str) -> None:
        with self.db.write() as w:
            w.execute("DELETE FROM portal_sessions WHERE token_hash = ?", (_hash(token),))

    def _sweep(self, w, now: float) -> None:
        """Sessions past their time go when a new one opens (none is ever used again)."""
        w.execute("DELETE FROM portal_sessions WHERE seen_at < ? OR created_at < ?",
                  (now - self.idle, now - self.lifetime))


def csrf_matches(session: Session, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(session.csrf.encode(), header.encode())
