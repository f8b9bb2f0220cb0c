"""A hash chain over the event log: each event's hash covers the one before.

`tidemark events verify` recomputes the chain from the log; an edited,
inserted or deleted record breaks it from that position on.
"""

import hashlib
from typing import Any

from infra.store.sql import Writer

GENESIS = "0" * 64


def link(previous: str, notification: Any) -> str:
    digest = hashlib.sha256()
    for part in (previous, str(notification.id), str(notification.originator_id),
                 str(notification.originator_version), notification.topic):
        digest.update(part.encode())
        digest.update(b"\x00")
    state = notification.state
    digest.update(state.encode() if isinstance(state, str) else bytes(state))
    return digest.hexdigest()


class ChainView:
    name = "chain"
    tables = ("event_chain",)
    raw = True  # applied to stored notifications, not decoded events

    def __init__(self, prefix: str = "chain_") -> None:
        self.p = prefix

    def create(self, w: Writer) -> None:
        w.execute(f"CREATE TABLE IF NOT EXISTS {self.p}event_chain ("
                  "position BIGINT PRIMARY KEY, hash TEXT NOT NULL)")

    def drop(self, w: Writer) -> None:
        w.execute(f"DROP TABLE IF EXISTS {self.p}event_chain")

    def drop_indexes(self, w: Writer) -> None:
        pass

    def apply_raw(self, w: Writer, notification: Any) -> set:
        rows = w.execute(f"SELECT hash FROM {self.p}event_chain ORDER BY position DESC LIMIT 1")
        previous = rows[0][0] if rows else GENESIS
        w.execute(f"INSERT INTO {self.p}event_chain VALUES (?, ?)",
                  (notification.id, link(previous, notification)))
        return set()
