"""Kafka relay benchmark against a local tansu broker.

1. Backlog: writes N public events (`Upload.Abandoned`, a few thousand per save,
   spread over 50 repositories) while the relay is idle, then times the relay
   draining them to the broker: events/s (target >= 10,000/s).
2. Checks with aiokafka, in another process, that every backlog event arrived.
3. Steady load: the relay follows the log in its thread while events are saved
   one per save at a fixed rate, each followed by the wake-up the write path
   gives; the subscriber process stamps each record's arrival. Event-to-record
   lag = arrival at the subscriber - start of the save (target p99 < 250 ms).

    python bench/kafka_relay.py [--backlog 200000] [--rate 500] [--seconds 20]
"""

import argparse
import asyncio
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.base import SYSTEM  # noqa: E402
from domain.artifacts.upload import Upload  # noqa: E402
from infra.http.logging import configure_logging  # noqa: E402
from infra.wiring.registry import build_registry  # noqa: E402
from infra.settings import Settings  # noqa: E402
from tests.integration.kafka_broker import tansu_broker  # noqa: E402

REPOSITORIES = [f"library/bench-{index}" for index in range(50)]


def say(message: str) -> None:
    print(message, flush=True)


def write_backlog(app, count: int, per_save: int = 4000) -> float:
    started = time.perf_counter()
    written = 0
    while written < count:
        size = min(per_save, count - written)
        app.save(*(Upload.abandon(REPOSITORIES[(written + i) % len(REPOSITORIES)],
                                  uuid.uuid4().hex, 0, "expired", SYSTEM) for i in range(size)))
        written += size
    return time.perf_counter() - started


def subscriber(bootstrap: str, topic: str, ready, results, stop) -> None:
    """In its own process: read the topic from the start; send (position, arrival) lists."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def run() -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                    fetch_max_wait_ms=20, max_partition_fetch_bytes=8 << 20)
        await consumer.start()
        try:
            await consumer.topics()  # loads the cluster's metadata
            partitions = sorted(consumer.partitions_for_topic(topic) or {0})
            consumer.assign([TopicPartition(topic, p) for p in partitions])
            await consumer.seek_to_beginning()
            ready.set()
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=100, max_records=20_000)
                arrived = time.time()
                chunk = [(int(dict(m.headers)["ce_position"]), arrived)
                         for messages in batches.values() for m in messages]
                if chunk:
                    results.put(chunk)
        finally:
            await consumer.stop()

    asyncio.run(run())


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=500, help="events/s under steady load")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    configure_logging("console", "warning")
    workdir = Path(tempfile.mkdtemp(prefix="tidemark-kafka-bench-"))
    with tansu_broker(workdir) as broker:
        settings = Settings(data_dir=str(workdir / "data"), admin_password="Bench-Passw0rd",
                            kafka_bootstrap_servers=broker.bootstrap_servers,
                            kafka_topic="tidemark.bench")
        registry = build_registry(settings)
        try:
            registry.start(follow=False)  # query models set up; the relay's thread not started
            relay = registry.kafka_relay
            relay.deliver()  # the start-up events, and the topic exists from here on
            first = registry.app.head() + 1

            seconds = write_backlog(registry.app, args.backlog)
            head = registry.app.head()
            say(f"backlog: {args.backlog:,} events written in {seconds:.1f} s "
                f"({args.backlog / seconds:,.0f}/s), log head {head:,}")
            published_before = relay.published
            started = time.perf_counter()
            assert relay.deliver() == head
            seconds = time.perf_counter() - started
            published = relay.published - published_before
            say(f"relay throughput: {published:,} events in {seconds:.2f} s = "
                f"{published / seconds:,.0f} events/s (target >= 10,000/s)")

            ctx = mp.get_context("spawn")
            ready, stop, results = ctx.Event(), ctx.Event(), ctx.Queue()
            reader = ctx.Process(target=subscriber, daemon=True,
                                 args=(broker.bootstrap_servers, settings.kafka_topic, ready,
                                       results, stop))
            reader.start()
            ready.wait(60)
            arrived: dict[int, float] = {}
            deadline = time.monotonic() + 300
            wanted = set(range(first, head + 1))
            while not wanted <= arrived.keys() and time.monotonic() < deadline:
                for position, at in results.get(timeout=60):
                    arrived.setdefault(position, at)
            missing = len(wanted - arrived.keys())
            say(f"subscriber (aiokafka) read the backlog: {len(wanted) - missing:,} of "
                f"{len(wanted):,} events, {missing} missing")

            relay.start(interval=0.25)
            saved_at: dict[int, float] = {}
            interval = 1 / args.rate
            began = time.perf_counter()
            ticks = int(args.seconds * args.rate)
            for tick in range(ticks):
                time.sleep(max(0.0, began + tick * interval - time.perf_counter()))
                at = time.time()
                recordings = registry.app.save(Upload.abandon(
                    REPOSITORIES[tick % len(REPOSITORIES)], uuid.uuid4().hex, 0, "expired",
                    SYSTEM))
                saved_at[recordings[0].notification.id] = at
                relay.wake()  # what the write path does after every command
            deadline = time.monotonic() + 60
            while not saved_at.keys() <= arrived.keys() and time.monotonic() < deadline:
                try:
                    for position, at in results.get(timeout=5):
                        arrived.setdefault(position, at)
                except Exception:
                    break
            stop.set()
            reader.join(10)
            lags = [(arrived[p] - t) * 1000 for p, t in saved_at.items() if p in arrived]
            say(f"steady load: {len(saved_at):,} events at {args.rate:,.0f}/s for "
                f"{args.seconds:.0f} s, {len(saved_at) - len(lags)} not seen")
            if lags:
                say(f"event-to-record lag (ms): p50 {percentile(lags, 0.5):.1f}  "
                    f"p95 {percentile(lags, 0.95):.1f}  p99 {percentile(lags, 0.99):.1f}  "
                    f"max {max(lags):.1f}  (target p99 < 250 ms)")
        finally:
            registry.close()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
