"""Kafka producer settings and the record form of a public event.

Records use the CloudEvents Kafka binding in binary mode: the value is the
event's `data` as JSON, every other attribute is a `ce_` header, and the key is
the event's scope (repository, else project, else `system`), so the default
partitioner keeps each scope's events in one partition, in log order.
"""

from typing import Any

import msgspec

from infra.messaging.public_events import scope_of

_encode = msgspec.json.Encoder().encode
_JSON = b"application/json"
_HEADERS = ("specversion", "id", "type", "source", "time", "subject")


def record_key(event: dict[str, Any]) -> str:
    """The partition key of a CloudEvent: repository, else project, else `system`."""
    project, repository = scope_of(event["data"])
    return repository or project or "system"


def kafka_record(event: dict[str, Any]) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of a CloudEvent in the Kafka binding's binary mode."""
    headers = [(f"ce_{name}", str(event[name]).encode())
               for name in _HEADERS if event.get(name) is not None]
    headers.append(("ce_position", str(event["position"]).encode()))
    headers.append(("content-type", _JSON))
    return record_key(event).encode(), _encode(event["data"]), headers


class KeyPartitioner:
    """The default partitioner's choice for a key (murmur2, as the Java client), remembered:
    the relay's keys repeat, and kafka-python computes murmur2 in pure Python."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._partitions: tuple[int, ...] = ()
        self._by_key: dict[bytes, int] = {}

    def __call__(self, key: bytes, partitions: set[int]) -> int:
        if len(partitions) != len(self._partitions) or len(self._by_key) > self.max_keys:
            self._partitions = tuple(sorted(partitions))  # the topic grew: keys move, as in Kafka
            self._by_key = {}
        partition = self._by_key.get(key)
        if partition is None:
            from kafka.partitioner.default import murmur2

            index = (murmur2(key) & 0x7FFFFFFF) % len(self._partitions)
            partition = self._by_key[key] = self._partitions[index]
        return partition


def supports_idempotence() -> bool:
    """Whether the installed kafka-python has the idempotent producer (2.1 and later)."""
    from kafka import KafkaProducer

    return "enable_idempotence" in KafkaProducer.DEFAULT_CONFIG


def producer_config(bootstrap_servers: str, **overrides: Any) -> dict[str, Any]:
    """Settings for a producer that loses nothing and keeps order per partition.

    acks=all waits for every in-sync replica. With the idempotent producer the
    broker drops a retried duplicate and refuses a gap, so up to five requests
    may be in flight; without it, one at a time keeps retries in order.
    `linger_ms` lets a batch fill before it is sent; the relay flushes anyway at
    the end of each of its batches. The time limits are short so that a broker
    outage surfaces as an error the relay retries with backoff, instead of
    blocking it for minutes.
    """
    config: dict[str, Any] = {
        "bootstrap_servers": [s.strip() for s in bootstrap_servers.split(",") if s.strip()],
        "client_id": "tidemark-relay",
        "acks": "all",
        "linger_ms": 25,
        "batch_size": 512 * 1024,
        "max_block_ms": 10_000,
        "request_timeout_ms": 15_000,
        "delivery_timeout_ms": 30_000,
        "retry_backoff_ms": 200,
        "reconnect_backoff_max_ms": 5_000,
    }
    if supports_idempotence():
        config["enable_idempotence"] = True
    else:  # pragma: no cover - kafka-python before 2.1
        config["max_in_flight_requests_per_connection"] = 1
        config["retries"] = 2**31 - 1
    config.update(overrides)
    return config


def open_producer(bootstrap_servers: str, **overrides: Any):
    """A kafka-python producer with `producer_config`."""
    from kafka import KafkaProducer

    return KafkaProducer(**producer_config(bootstrap_servers, **overrides))
