"""What each background worker is doing, where every process can read it.

A worker (the Kafka relay, the webhook sender) writes a row when its state
changes: following, stalled (with the error), standing by, stopped. The row
lives in the query-model database, so the health report of a web process shows
a relay that runs in a separate `--role workers` process. A process that dies
leaves its last row behind; `updated_at` and the worker's lag tell the rest.
"""

import json
import os
import socket
import time
from typing import Any

import structlog

from infra.store.sql import Database

log = structlog.get_logger("worker_status")

TABLE = """CREATE TABLE IF NOT EXISTS worker_status (
    name TEXT PRIMARY KEY, holder TEXT NOT NULL, state TEXT NOT NULL,
    since BIGINT NOT NULL, updated_at BIGINT NOT NULL, detail TEXT NOT NULL)"""

HOLDER = f"{socket.gethostname()}:{os.getpid()}"


class WorkerStatus:
    def __init__(self, db: Database, name: str) -> None:
        self.db = db
        self.name = name
        self._state: str | None = None
        self._since = 0

    @property
    def state(self) -> str | None:
        """The last state this process reported (None before the first)."""
        return self._state

    def setup(self) -> None:
        with self.db.write() as w:
            w.execute(TABLE)

    def report(self, state: str, **detail: Any) -> None:
        """Record a state (and its details); never raises: a worker must not stop because
        its status could not be written."""
        now = int(time.time() * 1000)
        if state != self._state:
            self._state, self._since = state, now
        try:
            with self.db.write() as w:
                w.execute("INSERT INTO worker_status VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) "
                          "DO UPDATE SET holder = excluded.holder, state = excluded.state, "
                          "since = excluded.since, updated_at = excluded.updated_at, "
                          "detail = excluded.detail",
                          (self.name, HOLDER, state, self._since, now,
                           json.dumps(detail, default=str)))
        except Exception as error:
            log.warning("worker status not recorded", worker=self.name, state=state,
                        error=type(error).__name__)


def worker_states(db: Database) -> list[dict]:
    """Every worker's last recorded state, by name."""
    try:
        rows = db.read("SELECT name, holder, state, since, updated_at, detail FROM worker_status "
                       "ORDER BY name")
    except Exception:  # no worker ever ran against this database
        return []
    return [{"name": name, "holder": holder, "state": state, "since": _iso(since),
             "updated_at": _iso(updated), **json.loads(detail)}
            for name, holder, state, since, updated, detail in rows]


def _iso(millis: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(millis / 1000)) + \
        f".{millis % 1000:03d}Z"
