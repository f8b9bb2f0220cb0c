"""Follows the event log and applies it to a view, batch by batch.

The view's rows and its tracked position are written in one transaction, and
the position row is locked while a batch is applied, so two processes never
apply the same event twice and a crash never half-applies a batch.
"""

import hashlib
import threading
from typing import Any, Callable, Iterable

import structlog

from domain.topics import stored_topics
from infra.store.sql import Database, Writer

log = structlog.get_logger("projector")

POSITIONS = """CREATE TABLE IF NOT EXISTS projection_positions (
    name TEXT PRIMARY KEY, position BIGINT NOT NULL)"""


class Projector:
    """Keeps one view up to date with the log of one application."""

    def __init__(self, app: Any, db: Database, view: Any, *, name: str | None = None,
                 batch: int = 1000, on_stale: Callable[[set], None] | None = None,
                 before_round: Callable[[threading.Event], None] | None = None) -> None:
        self.app = app
        self.db = db
        self.view = view
        self.name = name or view.name
        self.batch = batch
        self.on_stale = on_stale or (lambda keys: None)
        self.before_round = before_round  # the follower calls it with its stop event; may block
        self._lock = threading.RLock()
        self._known = 0  # a position this process saw applied (it only ever grows)
        handlers = getattr(view, "handlers", None)
        all_events = getattr(view, "raw", False) or getattr(view, "all_events", False) or handlers is None
        self.topics = None if all_events else sorted(t for cls in handlers for t in stored_topics(cls))
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def setup(self) -> None:
        with self.db.write() as w:
            w.execute(POSITIONS)
            self.view.create(w)
            w.execute("INSERT INTO projection_positions VALUES (?, 0) ON CONFLICT DO NOTHING",
                      (self.name,))

    def position(self) -> int:
        rows = self.db.read("SELECT position FROM projection_positions WHERE name = ?", (self.name,))
        return rows[0][0] if rows else 0

    def reached(self) -> int:
        """How far the view is current as this process knows it: the stored position, or
        further when the events after it did not concern the view (`skip_to`)."""
        return max(self.position(), self._known)

    def _locked_position(self, w: Writer) -> int:
        lock = " FOR UPDATE" if self.db.dialect == "postgres" else ""
        return w.execute(f"SELECT position FROM projection_positions WHERE name = ?{lock}",
                         (self.name,))[0][0]

    def skip_to(self, head: int, topics: set[str], since: int) -> bool:
        """If nothing after `since` up to `head` concerns this view (`topics` are the topics
        seen there), note `head` as reached and return True: a write that touches nothing
        this view shows costs it no transaction. The follower records the position later."""
        if self._known < since or self.topics is None or topics.intersection(self.topics):
            return False
        self._known = max(self._known, head)
        return True

    def catch_up(self, until: int | None = None) -> int:
        """Apply every event not applied yet (up to `until`); return the position reached."""
        with self._lock:
            while True:
                stale: set = set()
                with self.db.write() as w:
                    position = self._locked_position(w)
                    self._known = max(self._known, position)
                    if until is not None and position >= until:
                        return position
                    notifications = self.app.recorder.select_notifications(
                        start=position + 1, limit=self.batch, stop=until)
                    if not notifications:
                        return position
                    raw = getattr(self.view, "raw", False)
                    for notification in notifications:
                        if raw:
                            stale |= self.view.apply_raw(w, notification)
                            continue
                        event = self.app.mapper.to_domain_event(notification)
                        stale |= self.view.apply(w, event, notification.id)
                    position = notifications[-1].id
                    w.execute("UPDATE projection_positions SET position = ? WHERE name = ?",
                              (position, self.name))
                self._known = max(self._known, position)
                if stale:
                    self.on_stale(stale)
                if len(notifications) < self.batch:
                    return position

    def start(self, interval: float = 0.25) -> None:
        """Follow the log in a background thread (for events written by other processes)."""
        self._thread = threading.Thread(target=self._follow, args=(interval,),
                                        name=f"projector-{self.name}", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _follow(self, interval: float) -> None:
        while not self._stop.is_set():
            try:
                if self.before_round is not None:
                    self.before_round(self._stop)
                self.catch_up()
            except Exception:  # keep following; the next round retries
                log.exception("projection failed", projection=self.name)
            self._wake.wait(interval)
            self._wake.clear()

    def request_stop(self) -> None:
        """Ask the follower to stop after its current batch (returns at once)."""
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop following and wait for the follower: a batch in progress commits first."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            if self._thread.is_alive():
                log.error("projection follower did not stop", projection=self.name)
            else:
                self._thread = None


def checksum(db: Database, prefix: str, tables: Iterable[str]) -> str:
    """A digest of every row of the view's tables, in a stable order."""
    digest = hashlib.sha256()
    for table in tables:
        rows = db.read(f"SELECT * FROM {prefix}{table}")
        # the rows' reprs, sorted, back to back: C loops only (a million rows in about a second)
        digest.update("".join(sorted(map(repr, map(tuple, rows)))).encode())
        digest.update(b"\x00")
    return digest.hexdigest()
