"""End to end: a registry with Kafka settings publishes every public event to a real
broker (tansu), and a subscriber reading with aiokafka sees each one, keyed, with its
CloudEvents headers and data, in log order per key, across a broker outage."""

import os
import subprocess
import sys
import time
import uuid

import msgspec
import pytest
from litestar.testing import TestClient

from infra.wiring.app import create_app
from infra.messaging.kafka_client import open_producer, record_key
from infra.http.logging import configure_logging
from infra.messaging.public_events import cloud_event
from infra.wiring.registry import build_registry
from infra.settings import Settings
from tests.e2e.kafka_subscriber import first_occurrences_per_key, read_topic
from tests.integration.conftest import basic
from tests.integration.kafka_broker import kafka_broker  # noqa: F401 (fixture)
from tests.integration.oci_client import OciClient
from tests.integration.servers import free_port

pytestmark = pytest.mark.e2e

configure_logging("json", os.environ.get("TIDEMARK_TEST_LOG_LEVEL", "warning"))
ADMIN_PASSWORD = "Relay-Admin-Passw0rd"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Short client time limits, so a paused broker shows as a stall within seconds.
QUICK_FAILURE = {"request_timeout_ms": 2000, "delivery_timeout_ms": 4000, "max_block_ms": 2000}


def relay_settings(tmp_path, bootstrap_servers: str) -> Settings:
    return Settings(data_dir=str(tmp_path / "data"), external_url="http://registry.test",
                    admin_password=ADMIN_PASSWORD, kafka_bootstrap_servers=bootstrap_servers,
                    kafka_topic=f"tidemark.events.{uuid.uuid4().hex[:8]}")


class RunningRegistry:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = build_registry(settings)
        self.relay = self.registry.kafka_relay
        servers = settings.kafka_bootstrap_servers
        self.relay.producer_factory = lambda: open_producer(servers, **QUICK_FAILURE)
        self.relay.backoff_max = 2.0

    def __enter__(self) -> "RunningRegistry":
        self.client = TestClient(create_app(self.settings, self.registry),
                                 base_url="http://registry.test")
        self.client.__enter__()  # starts the registry, and with it the relay's thread
        self.client.headers["authorization"] = basic("admin", ADMIN_PASSWORD)
        self.oci = OciClient(self.client)
        return self

    def __exit__(self, *exc) -> None:
        self.client.__exit__(*exc)
        self.registry.close()

    def expected_events(self) -> list[dict]:
        """Every public event in the log, in log order, as the relay should publish it."""
        notifications = self.registry.app.recorder.select_notifications(start=1, limit=1_000_000)
        return [e for e in map(cloud_event, notifications) if e is not None]

    def wait_until_relayed(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.relay.lag() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.relay.lag() == 0, self.relay.status()


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_every_public_event_reaches_kafka_keyed_with_headers_and_data_in_log_order(
        tmp_path, kafka_broker):
    with RunningRegistry(relay_settings(tmp_path, kafka_broker.bootstrap_servers)) as running:
        # given a registry with two repositories, a second project and a new user
        for tag in ("v1", "v2"):
            running.oci.push_image("library/alpha", tag)
        running.oci.push_image("library/beta", "v1")
        running.oci.push_image("library/alpha", "v1")  # moves the tag
        assert running.client.post("/api/v2.0/projects", json={
            "project_name": "team", "metadata": {"public": "true"}}).status_code == 201
        running.oci.push_image("team/gamma", "latest")
        assert running.client.post("/api/v2.0/users", json={
            "username": "erin", "password": "Erin-Passw0rd"}).status_code == 201
        # when the relay has caught up
        running.wait_until_relayed()
        expected = running.expected_events()
        # then a subscriber finds each public event once, keyed by its scope
        records = read_topic(kafka_broker.bootstrap_servers, running.settings.kafka_topic,
                             {e["id"] for e in expected})
    by_id = {r.ce_id: r for r in records}
    assert set(by_id) == {e["id"] for e in expected}
    assert len(records) == len(expected)  # no outage, no duplicate
    assert {"library/alpha", "library/beta", "team/gamma", "team", "library", "system"} <= {
        r.key for r in records}
    for event in expected:
        record = by_id[event["id"]]
        assert record.key == record_key(event)
        assert record.data == event["data"]
        assert record.headers == {
            "ce_specversion": "1.0", "ce_id": event["id"], "ce_type": event["type"],
            "ce_source": event["source"], "ce_time": event["time"],
            "ce_subject": event["subject"], "ce_position": str(event["position"]),
            "content-type": "application/json"}
    # and in log order within each key
    expected_per_key: dict[str, list[int]] = {}
    for event in expected:
        expected_per_key.setdefault(record_key(event), []).append(event["position"])
    assert first_occurrences_per_key(records) == expected_per_key
    assert {e["type"] for e in expected} >= {"io.tidemark.artifact.pushed.v1",
                                             "io.tidemark.tag.moved.v1",
                                             "io.tidemark.project.created.v1",
                                             "io.tidemark.user.created.v1"}


def test_a_broker_outage_loses_and_reorders_nothing_and_stalls_no_push(tmp_path, kafka_broker):
    with RunningRegistry(relay_settings(tmp_path, kafka_broker.bootstrap_servers)) as running:
        # given events already relayed
        for index in range(3):
            running.oci.push_image(f"library/app{index % 2}", f"before{index}")
        running.wait_until_relayed()
        # when the broker stops answering while pushes go on
        kafka_broker.pause()
        try:
            for index in range(6):
                started = time.monotonic()
                running.oci.push_image(f"library/app{index % 2}", f"during{index}")
                assert time.monotonic() - started < 2, "a push waited for the broker"
            # then the relay stalls, visibly, and keeps its position
            wait_for(lambda: running.relay.state == "stalled", 30, "the relay to stall")
            stalled_at = running.relay.position()
            assert running.relay.lag() > 0 and running.relay.status()["last_error"]
            assert running.relay.position() == stalled_at
        finally:
            kafka_broker.resume()
        # and when the broker is back, it resumes and catches up
        for index in range(3):
            running.oci.push_image(f"library/app{index % 2}", f"after{index}")
        running.wait_until_relayed()
        wait_for(lambda: running.relay.state == "following", 30, "the relay to resume")
        expected = running.expected_events()
        records = read_topic(kafka_broker.bootstrap_servers, running.settings.kafka_topic,
                             {e["id"] for e in expected})
    # nothing lost
    assert {r.ce_id for r in records} == {e["id"] for e in expected}
    # nothing reordered within a key, once duplicates are dropped by ce_id
    expected_per_key: dict[str, list[int]] = {}
    for event in expected:
        expected_per_key.setdefault(record_key(event), []).append(event["position"])
    assert first_occurrences_per_key(records) == expected_per_key


def test_commands_never_wait_for_an_unreachable_broker(tmp_path):
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    with RunningRegistry(relay_settings(tmp_path, dead)) as running:
        started = time.monotonic()
        for tag in ("v1", "v2", "v3"):
            running.oci.push_image("library/app", tag)
        assert time.monotonic() - started < 5
        wait_for(lambda: running.relay.state == "stalled", 30, "the relay to stall")
        assert running.relay.position() == 0 and running.relay.lag() > 0
        health = running.client.get("/api/v2.0/health")
    # The registry still serves (200), says so, and names the stalled relay and its error.
    assert health.status_code == 200 and health.json()["status"] == "degraded"
    kafka = next(c for c in health.json()["components"] if c["name"] == "kafka")
    assert kafka["status"] == "unhealthy" and kafka["state"] == "stalled"
    assert kafka["lag"] > 0 and kafka["error"] and kafka["topic"] == running.settings.kafka_topic


def test_projections_status_shows_the_relays_position_and_lag(tmp_path, kafka_broker):
    settings = relay_settings(tmp_path, kafka_broker.bootstrap_servers)
    with RunningRegistry(settings) as running:
        running.oci.push_image("library/app", "v1")
        running.wait_until_relayed()
        head = running.registry.app.head()
        metrics = running.client.get("/metrics").text
        health = running.client.get("/api/v2.0/health").json()
    kafka = next(c for c in health["components"] if c["name"] == "kafka")
    assert health["status"] == "healthy" and kafka["status"] == "healthy"
    assert kafka["state"] == "following" and kafka["lag"] == 0 and "error" not in kafka
    assert 'tidemark_projection_lag_events{projection="kafka"} 0.0' in metrics
    env = {**os.environ, "TIDEMARK_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
           "TIDEMARK_ADMIN_PASSWORD": ADMIN_PASSWORD}
    result = subprocess.run([sys.executable, "-m", "infra.wiring.cli", "projections", "status", "kafka",
                             "--data-dir", settings.data_dir], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["kafka", "position", str(head), "head", str(head), "lag", "0"]


def test_a_relay_turned_on_with_kafka_start_head_publishes_only_what_comes_after(
        tmp_path, kafka_broker):
    # given a registry that ran without Kafka
    plain = Settings(data_dir=str(tmp_path / "data"), external_url="http://registry.test",
                     admin_password=ADMIN_PASSWORD)
    registry = build_registry(plain)
    with TestClient(create_app(plain, registry), base_url="http://registry.test") as client:
        client.headers["authorization"] = basic("admin", ADMIN_PASSWORD)
        OciClient(client).push_image("library/old", "v1")
    registry.close()
    # when Kafka is turned on with kafka_start: head, and a push follows
    settings = msgspec.structs.replace(relay_settings(tmp_path, kafka_broker.bootstrap_servers),
                                       kafka_start="head")
    with RunningRegistry(settings) as running:
        history = running.expected_events()
        running.oci.push_image("library/new", "v1")
        running.wait_until_relayed()
        new = [e for e in running.expected_events() if e["id"] not in {h["id"] for h in history}]
        records = read_topic(kafka_broker.bootstrap_servers, settings.kafka_topic,
                             {e["id"] for e in new})
    # then subscribers get the new push and nothing of the history
    assert any(e["subject"].startswith("library/old") for e in history)
    assert {r.ce_id for r in records} == {e["id"] for e in new}
    assert {r.key for r in records} == {"library/new"}
