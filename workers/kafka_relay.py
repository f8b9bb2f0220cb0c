"""Publishes every public event to a Kafka topic, at least once, in log order per key.

The relay follows the log from its own tracked position (`projection_positions`,
name `kafka`). It publishes a batch, waits until the broker has acknowledged
every record of it (acks=all), and only then advances the position, in a short
transaction of its own. A crash or an outage therefore re-publishes part of a
batch, never skips one; subscribers drop duplicates by `ce_id`.

Nothing here runs on a request's path: commands only wake the relay's thread,
and while the broker is away the thread retries with exponential backoff
(tenacity) and catches up when it returns.

Retry contract: unlimited attempts; every error retries (a broker error is
logged as a stall, any other error with its traceback, since skipping an event
is never an option); backoff from 0.5 s doubling to 30 s, with jitter; reset by
the first delivered batch.
"""

import threading
import time
from typing import Any, Callable

import structlog
from tenacity import Retrying, retry_if_exception, stop_never, wait_exponential_jitter

from infra.messaging.kafka_client import KeyPartitioner, kafka_record
from infra.messaging.public_events import cloud_event
from infra.store.sql import Database
from projections.projector import POSITIONS
from workers.worker_status import WorkerStatus

log = structlog.get_logger("kafka_relay")

NAME = "kafka"


class RelayView:
    """What the relay shows code that walks the projectors' views (`events verify`,
    `projections rebuild`): a name and no tables. A relay has no query model to rebuild:
    replaying it would re-publish or skip, so building a scratch copy refuses."""

    tables: tuple[str, ...] = ()
    p = ""

    def __init__(self, prefix: str | None = None, *, name: str = NAME) -> None:
        if prefix is not None:
            raise NotImplementedError(f"{name} is a relay to Kafka, not a query model: "
                                      "there is nothing to rebuild")
        self.name = name


class KafkaRelay:
    """A log follower whose side effect is a Kafka record per public event.

    It stands in the registry's list of projectors (setup, position, start, stop),
    so `tidemark projections status` and `/metrics` show its position and lag.
    """

    label = "kafka relay"  # how the log names this follower

    def __init__(self, app: Any, db: Database, producer_factory: Callable[[], Any], topic: str,
                 *, lease: Any = None, name: str = NAME, batch: int = 5000,
                 interval: float = 0.25, backoff_initial: float = 0.5,
                 backoff_max: float = 30.0, flush_timeout: float = 60.0,
                 start_at_head: bool = False) -> None:
        self.app = app
        self.db = db
        self.producer_factory = producer_factory
        self.topic = topic
        self.lease = lease
        self.name = name
        self.view = RelayView(name=name)
        self.batch = batch
        self.interval = interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.flush_timeout = flush_timeout
        self.start_at_head = start_at_head
        self.state = "idle"  # idle | following | stalled | standby | stopped
        self.stalled_since: float | None = None
        self.failures = 0  # failed attempts in the current stall
        self.last_error: str | None = None
        self.published = 0  # records acknowledged since this process started
        self._producer: Any = None
        self._partitioner = KeyPartitioner()
        self._lock = threading.Lock()  # one delivery at a time in this process
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.board = WorkerStatus(db, name)

    # -- the projector-like surface the registry uses -------------------------------------

    def setup(self) -> None:
        with self.db.write() as w:
            w.execute(POSITIONS)
            # A relay that never ran starts at 0, or at the head (`kafka_start: head`); from
            # then on its own position decides, whatever the setting says.
            start = (self.app.recorder.max_notification_id() or 0) if self.start_at_head else 0
            w.execute("INSERT INTO projection_positions VALUES (?, ?) ON CONFLICT DO NOTHING",
                      (self.name, start))
        self.board.setup()

    def position(self) -> int:
        """The log position up to which every public event has been acknowledged."""
        rows = self.db.read("SELECT position FROM projection_positions WHERE name = ?",
                            (self.name,))
        return rows[0][0] if rows else 0

    def lag(self) -> int:
        return max((self.app.recorder.max_notification_id() or 0) - self.position(), 0)

    def catch_up(self, until: int | None = None) -> int:
        """Wake the relay's thread and return the position: no caller (a command, the
        start-up, a CLI verb) ever waits for the broker. `deliver` publishes in place."""
        self.wake()
        return self.position()

    def skip_to(self, head: int, topics: set[str], since: int) -> bool:
        return True  # never brought up to date on a request's path

    def wake(self) -> None:
        self._wake.set()

    def start(self, interval: float | None = None) -> None:
        """Follow the log in a background thread until `stop`."""
        if interval is not None:
            self.interval = interval
        self._stop.clear()
        self.state = "following"
        log.info(f"{self.label} started", relay=self.name, topic=self.topic,
                 position=self.position())
        self._thread = threading.Thread(target=self._follow, name=f"relay-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None
        with self._lock:
            self._close_producer(timeout=5)
            if self.lease is not None:
                self.lease.release()
        if self.state != "standby" and self.board.state is not None:  # the row is ours
            self.board.report("stopped", topic=self.topic)
        self.state = "stopped"

    def status(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "position": self.position(),
                "lag": self.lag(), "published": self.published, "failures": self.failures,
                "stalled_since": self.stalled_since, "last_error": self.last_error}

    # -- delivery ---------------------------------------------------------------------------

    def deliver(self, until: int | None = None) -> int:
        """Publish every public event after the tracked position (up to `until`), batch by
        batch, advancing the position after each acknowledged batch; return it. Raises the
        broker's error if a batch is not acknowledged: the position stays where it was."""
        with self._lock:
            if self.lease is not None and not self.lease.acquire():
                self._enter("standby")
                return self.position()
            if self.state == "standby":
                self._enter("following")
            elif self.board.state is None:  # first round holding the lease: say so
                self.board.report("following", topic=self.topic)
            while not self._stop.is_set():
                position = self.position()
                if until is not None and position >= until:
                    return position
                notifications = self.app.recorder.select_notifications(
                    start=position + 1, limit=self.batch, stop=until)
                if not notifications:
                    return position
                self._publish(notifications)
                reached = notifications[-1].id
                with self.db.write() as w:
                    w.execute("UPDATE projection_positions SET position = ? "
                              "WHERE name = ? AND position < ?", (reached, self.name, reached))
                if len(notifications) < self.batch:
                    return reached
            return self.position()

    def _publish(self, notifications: list) -> None:
        """Send the public events of one batch and wait until all are acknowledged."""
        if self._producer is None:
            self._producer = self.producer_factory()
        producer, topic, partition_of = self._producer, self.topic, self._partitioner
        futures = []
        try:
            partitions = producer.partitions_for(topic)  # waits for metadata (max_block_ms)
            for notification in notifications:
                event = cloud_event(notification)
                if event is None:
                    continue  # internal-only event
                key, value, headers = kafka_record(event)
                futures.append(producer.send(topic, key=key, value=value, headers=headers,
                                             partition=partition_of(key, partitions)))
            producer.flush(timeout=self.flush_timeout)
            for future in futures:
                future.get(timeout=0)  # raises the record's delivery error, if any
        except BaseException:
            # A producer that failed mid-batch may hold records it will still retry; start
            # the next attempt from the tracked position with a fresh one instead.
            self._close_producer(timeout=0)
            raise
        self.published += len(futures)

    def _close_producer(self, timeout: float) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=timeout)
            except Exception:  # closing a broken producer may fail; it is dropped anyway
                log.debug("closing the kafka producer failed", relay=self.name, exc_info=True)

    # -- following, with backoff ------------------------------------------------------------

    def _follow(self) -> None:
        while not self._stop.is_set():
            self._deliver_with_retry()
            if self.state == "standby":  # asks for the lease now and then, not on every wake
                self._stop.wait(5)
                continue
            self._wake.wait(self.interval)
            self._wake.clear()

    def _deliver_with_retry(self) -> None:
        retrying = Retrying(
            retry=retry_if_exception(lambda error: not self._stop.is_set()),
            wait=wait_exponential_jitter(multiplier=self.backoff_initial, max=self.backoff_max,
                                         jitter=self.backoff_initial),
            stop=stop_never, sleep=self._stop.wait, before_sleep=self._failed, reraise=True)
        try:
            retrying(self.deliver)
        except Exception:  # only once stopping: the next start resumes from the position
            return
        if self.state == "stalled":
            self._resumed()

    def _failed(self, attempt) -> None:
        error = attempt.outcome.exception()
        retry_in = round(attempt.next_action.sleep, 2) if attempt.next_action else None
        self.failures = attempt.attempt_number
        self.last_error = f"{type(error).__name__}: {error}"
        fields = {"position": self.position(), "attempt": self.failures, "retry_in": retry_in,
                  "error": self.last_error}
        from kafka.errors import KafkaError

        if not isinstance(error, (KafkaError, OSError)):
            log.error(f"{self.label} failed", relay=self.name, exc_info=error, **fields)
        if self.state != "stalled":
            self.stalled_since = time.time()
            self._enter("stalled", **fields)
        else:
            log.info(f"{self.label} still stalled", relay=self.name, **fields)
            self.board.report("stalled", topic=self.topic, **fields)

    def _resumed(self) -> None:
        stalled = round(time.time() - (self.stalled_since or time.time()), 2)
        self._enter("following", position=self.position(), stalled_seconds=stalled,
                    attempts=self.failures)
        self.stalled_since, self.failures = None, 0

    def _enter(self, state: str, **fields: Any) -> None:
        """Change state and say so once: the log shows transitions, not every round."""
        if state == self.state:
            return
        previous, self.state = self.state, state
        event = {"stalled": f"{self.label} stalled", "standby": f"{self.label} standing by",
                 "following": f"{self.label} resumed" if previous == "stalled"
                 else f"{self.label} leading"}[state]
        level = log.warning if state == "stalled" else log.info
        level(event, relay=self.name, previous=previous, **fields)
        if state != "standby":  # the row is the holder's; a standby has nothing to add
            self.board.report(state, topic=self.topic, **fields)


def relay_from_settings(app: Any, db: Database, settings: Any, **options: Any) -> KafkaRelay:
    """The relay for `settings.kafka_bootstrap_servers` and `settings.kafka_topic`."""
    from infra.messaging.kafka_client import open_producer
    from workers.relay_lease import relay_lease_for

    producer_options = options.pop("producer_options", {})
    return KafkaRelay(app, db, lambda: open_producer(settings.kafka_bootstrap_servers,
                                                     **producer_options),
                      settings.kafka_topic, lease=relay_lease_for(settings, NAME),
                      start_at_head=settings.kafka_start == "head", **options)
