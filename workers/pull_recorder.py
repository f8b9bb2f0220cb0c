"""Collects pulls in memory and saves them as one `PullBatch.Recorded` event a second.

The pull path only appends to a bounded queue; if the queue is full (the store
is far behind), the oldest pulls are dropped and counted rather than slowing
pulls down.
"""

import time
from collections import deque

import structlog

from domain.base import SYSTEM
from domain.artifacts.pulls import PullBatch
from workers.ticker import Ticker

log = structlog.get_logger("pull_recorder")


class PullRecorder(Ticker):
    name = "pull-recorder"

    def __init__(self, app, interval: float = 1.0, max_pending: int = 100_000,
                 batch: int = 5_000) -> None:
        super().__init__(interval)
        self.app = app
        self.batch = batch
        self._pending: deque[dict] = deque(maxlen=max_pending)
        self.dropped = 0

    def record(self, repository: str, digest: str, tag: str | None, actor: str, client_ip: str,
               request_id: str) -> None:
        """Called on the pull path: an append, nothing more."""
        if len(self._pending) == self._pending.maxlen:
            self.dropped += 1
        self._pending.append({"repository": repository, "digest": digest, "tag": tag, "actor": actor,
                              "client_ip": client_ip, "request_id": request_id,
                              "at": time.time()})

    def flush(self) -> int:
        """Save what is pending; return how many pulls were recorded."""
        saved = 0
        while self._pending:
            pulls = [self._pending.popleft() for _ in range(min(self.batch, len(self._pending)))]
            self.app.save(PullBatch.record(pulls, SYSTEM))
            saved += len(pulls)
        return saved

    def tick(self) -> None:
        self.flush()

    def stop(self) -> None:
        super().stop()
        try:
            self.flush()
        except Exception:
            log.exception("could not record the last pulls")
