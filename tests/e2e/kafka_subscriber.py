"""Reads a topic as an outside subscriber would: aiokafka, a consumer group, from the start.

aiokafka is a second, independent Kafka client, so the tests do not only check
that kafka-python agrees with itself.
"""

import asyncio
import json
import time
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Received:
    partition: int
    offset: int
    key: str
    headers: dict[str, str]
    data: dict

    @property
    def ce_id(self) -> str:
        return self.headers["ce_id"]

    @property
    def position(self) -> int:
        return int(self.headers["ce_position"])


async def _read(bootstrap_servers: str, topic: str, wanted: set[str], timeout: float) -> list[Received]:
    from aiokafka import AIOKafkaConsumer

    # tansu answers a group's first JoinGroup after half the session timeout: keep it short.
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap_servers, group_id=f"test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest", enable_auto_commit=False, session_timeout_ms=6000,
        heartbeat_interval_ms=1000, fetch_max_wait_ms=100)
    await consumer.start()
    received: list[Received] = []
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            if not batches and wanted <= seen:
                break  # everything wanted arrived and the topic has nothing more
            for partition, messages in batches.items():
                for message in messages:
                    record = Received(partition.partition, message.offset, message.key.decode(),
                                      {name: value.decode() for name, value in message.headers},
                                      json.loads(message.value))
                    received.append(record)
                    seen.add(record.ce_id)
    finally:
        await consumer.stop()
    return received


def read_topic(bootstrap_servers: str, topic: str, wanted: set[str],
               timeout: float = 60) -> list[Received]:
    """The records of `topic`, read until every id in `wanted` was seen and nothing more
    comes (or `timeout`). The topic's end offsets are not used: tansu 0.6.0 answers
    ListOffsets(latest) with one past the last batch's base offset, not the log end."""
    return asyncio.run(_read(bootstrap_servers, topic, wanted, timeout))


def first_occurrences_per_key(records: list[Received]) -> dict[str, list[int]]:
    """Per key, the log positions in partition order, keeping each `ce_id`'s first copy:
    what a subscriber that drops duplicates by id sees."""
    by_partition = sorted(records, key=lambda r: (r.partition, r.offset))
    seen: set[str] = set()
    per_key: dict[str, list[int]] = {}
    for record in by_partition:
        if record.ce_id in seen:
            continue
        seen.add(record.ce_id)
        per_key.setdefault(record.key, []).append(record.position)
    return per_key
