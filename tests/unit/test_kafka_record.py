"""The Kafka form of a public event: key by scope, data as the value, ce_ headers."""

import json

from infra.messaging.kafka_client import kafka_record, producer_config


def event(data, subject="library/app"):
    return {"specversion": "1.0", "id": "0b6c", "source": "/tidemark/library/app",
            "type": "io.tidemark.tag.created.v1", "time": "2026-01-02T03:04:05Z",
            "subject": subject, "datacontenttype": "application/json", "position": 42,
            "project": "library", "data": data}


def test_a_repository_event_is_keyed_by_repository_with_binary_mode_headers():
    key, value, headers = kafka_record(event({"repository": "library/app", "tag": "v1"}))
    assert key == b"library/app"
    assert json.loads(value) == {"repository": "library/app", "tag": "v1"}
    assert dict(headers) == {
        "ce_specversion": b"1.0", "ce_id": b"0b6c", "ce_type": b"io.tidemark.tag.created.v1",
        "ce_source": b"/tidemark/library/app", "ce_time": b"2026-01-02T03:04:05Z",
        "ce_subject": b"library/app", "ce_position": b"42", "content-type": b"application/json"}


def test_project_events_are_keyed_by_project_and_others_by_system():
    assert kafka_record(event({"project": "team", "name": "x"}))[0] == b"team"
    system_key, _, headers = kafka_record(event({"username": "erin"}, subject=None))
    assert system_key == b"system" and "ce_subject" not in dict(headers)


def test_the_producer_waits_for_all_replicas_and_is_idempotent():
    config = producer_config("a:9092, b:9092")
    assert config["bootstrap_servers"] == ["a:9092", "b:9092"]
    assert config["acks"] == "all" and config["enable_idempotence"] is True
    assert config["linger_ms"] > 0
