"""Saves failed sign-ins as `SignInFailures.Recorded` events, at most one a second, and
feeds recorded failures back into the login throttle (after a restart, and on
PostgreSQL from the other API processes).

What one source can write is bounded twice: the throttle lets it have only a
few checked guesses before waits that double; the attempts it makes while
waiting are not itemized but summed per source, one entry per longest wait
(15 minutes by default) at most.
A flood from many sources is capped per event; the rest is only counted.
"""

import threading
import time
from collections import deque
from datetime import datetime, timezone

import structlog

from domain.base import SYSTEM
from domain.iam.sign_ins import SignInFailures
from domain.topics import stored_topics
from infra.auth.login_throttle import source_key
from workers.ticker import Ticker

log = structlog.get_logger("sign_ins")

TOPICS = stored_topics(SignInFailures.Recorded)
MAX_NAMES = 5  # names listed in one source's count of refused attempts


class SignInRecorder(Ticker):
    name = "sign-in-recorder"

    def __init__(self, app, throttle, *, interval: float = 1.0, summary_seconds: float = 900.0,
                 batch: int = 1000, max_pending: int = 10_000, max_sources: int = 10_000,
                 follow: bool = False) -> None:
        super().__init__(interval)
        self.app = app
        self.throttle = throttle
        self.summary_seconds = summary_seconds
        self.batch = batch
        self.max_sources = max_sources
        self.follow = follow  # read other processes' failures back from the log
        self._failures: deque[dict] = deque()
        self._max_pending = max_pending
        self._refused: dict[str, dict] = {}
        self._dropped = 0
        self._lock = threading.Lock()
        self._saved: set[int] = set()  # positions this process wrote (not to be counted twice)
        self._seen = 0

    # -- on the sign-in path: appends, nothing more -------------------------------------

    def failed(self, name: str, known: bool, door: str, client_ip: str, request_id: str,
               at: float, reason: str = "") -> None:
        """`reason`: a fixed text saying why (never the password), kept when given."""
        entry = {"name": name, "known": known, "door": door, "client_ip": client_ip,
                 "request_id": request_id, "at": at, **({"reason": reason[:200]} if reason else {})}
        with self._lock:
            if len(self._failures) >= self._max_pending:
                self._dropped += 1
                return
            self._failures.append(entry)

    def refused(self, name: str, door: str, client_ip: str, request_id: str, at: float) -> None:
        key = source_key(client_ip)
        with self._lock:
            entry = self._refused.get(key)
            if entry is None:
                if len(self._refused) >= self.max_sources:
                    self._dropped += 1
                    return
                entry = self._refused[key] = {"names": [], "count": 0, "first_at": at}
            entry["count"] += 1
            if name not in entry["names"] and len(entry["names"]) < MAX_NAMES:
                entry["names"].append(name)
            entry.update(client_ip=client_ip, door=door, request_id=request_id, last_at=at)

    # -- in the background ------------------------------------------------------------

    def flush(self, everything: bool = True) -> int:
        """Save what is pending (a source's count of refused attempts only once it is
        `summary_seconds` old, unless `everything`); return how many entries were saved."""
        saved = 0
        while True:
            with self._lock:
                now = self.throttle.clock()
                failures = [self._failures.popleft()
                            for _ in range(min(self.batch, len(self._failures)))]
                ripe = [k for k, e in self._refused.items()
                        if everything or now - e["first_at"] >= self.summary_seconds]
                refused = [self._refused.pop(k) for k in ripe[:self.batch - len(failures)]]
                dropped, self._dropped = self._dropped, 0
            if not failures and not refused and not dropped:
                return saved
            recordings = self.app.save(SignInFailures.record(failures, refused, dropped, SYSTEM))
            if self.follow:
                with self._lock:
                    self._saved.update(r.notification.id for r in recordings)
            saved += len(failures) + len(refused)

    def replay(self, since: int) -> int:
        """Feed the failures recorded after log position `since` into the throttle (those
        this process saved itself are already there); return how many were applied."""
        applied = 0
        head = self.app.recorder.max_notification_id() or 0
        start = max(since, self._seen) + 1
        while start <= head:
            notifications = self.app.recorder.select_notifications(
                start=start, limit=500, stop=head, topics=TOPICS)
            for notification in notifications:
                if notification.id in self._saved:
                    self._saved.discard(notification.id)
                    continue
                event = self.app.mapper.to_domain_event(notification)
                for entry in event.failures:
                    self.throttle.failed_at(entry["client_ip"], entry["name"], entry["at"])
                    applied += 1
            if len(notifications) < 500:
                break
            start = notifications[-1].id + 1
        self._seen = max(self._seen, head)
        return applied

    def tick(self) -> None:
        self.flush(everything=False)
        if self.follow:
            self.replay(self._seen)

    def stop(self) -> None:
        super().stop()
        try:
            self.flush()
        except Exception:
            log.exception("could not record the last failed sign-ins")


def since_position(history, seconds: float, now: float) -> int:
    """The log position of the last event older than `seconds`: failures recorded after it
    can still matter to the throttle (an event is saved after the failures it holds)."""
    moment = datetime.fromtimestamp(min(now, time.time()) - seconds, timezone.utc)
    return history.resolve_at(moment.isoformat()) or 0
