"""The relay's delivery contract, against a fake producer: public events only, the
position advances only after a batch is acknowledged, one relay per data directory."""

import pytest
from kafka.errors import KafkaTimeoutError

from projections.rebuild import rebuild
from workers.kafka_relay import KafkaRelay
from workers.relay_lease import FileLease


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request):
    return request.param


class FakeFuture:
    def get(self, timeout=None):
        return None


class FakeProducer:
    """Keeps what it is sent; `acknowledge=False` makes its flush fail as a broker would."""

    def __init__(self, sink: list, acknowledge: bool = True) -> None:
        self.sink = sink
        self.acknowledge = acknowledge
        self.pending: list = []

    def partitions_for(self, topic):
        return {0, 1, 2, 3}

    def send(self, topic, key=None, value=None, headers=None, partition=None):
        self.pending.append((topic, key, value, dict(headers)))
        return FakeFuture()

    def flush(self, timeout=None):
        if not self.acknowledge:
            raise KafkaTimeoutError("no broker")
        self.sink.extend(self.pending)
        self.pending = []

    def close(self, timeout=None):
        pass


def relay_for(registry, tmp_path, sink, acknowledge=lambda: True):
    return KafkaRelay(registry.app, registry.db,
                      lambda: FakeProducer(sink, acknowledge()), "events",
                      lease=FileLease(tmp_path / "relay.lock"))


def test_relay_publishes_each_public_event_and_advances_to_the_head(registry, oci, tmp_path):
    oci.push_image("library/app", "v1")
    sent: list = []
    relay = relay_for(registry, tmp_path, sent)
    relay.setup()
    assert relay.deliver() == registry.app.head()
    positions = [int(headers["ce_position"]) for _, _, _, headers in sent]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert {key for _, key, _, _ in sent} >= {b"library/app", b"library", b"system"}
    assert relay.lag() == 0


def test_an_unacknowledged_batch_leaves_the_position_and_is_published_again(
        registry, oci, tmp_path):
    oci.push_image("library/app", "v1")
    sent: list = []
    broker_up = False
    relay = relay_for(registry, tmp_path, sent, acknowledge=lambda: broker_up)
    relay.setup()
    with pytest.raises(KafkaTimeoutError):
        relay.deliver()
    assert relay.position() == 0 and sent == []
    broker_up = True
    assert relay.deliver() == registry.app.head()
    assert sent and int(sent[0][3]["ce_position"]) == 1


def test_a_second_relay_on_the_same_data_directory_stands_by(registry, oci, tmp_path):
    oci.push_image("library/app", "v1")
    first_sent: list = []
    second_sent: list = []
    first = relay_for(registry, tmp_path, first_sent)
    second = relay_for(registry, tmp_path, second_sent)
    first.setup()
    first.deliver()
    assert second.deliver() == first.position() and second.state == "standby"
    assert second_sent == []
    first.stop()
    oci.push_image("library/app", "v2")
    assert second.deliver() == registry.app.head() and second_sent
    assert min(int(h["ce_position"]) for *_, h in second_sent) > max(
        int(h["ce_position"]) for *_, h in first_sent)
    second.stop()


def test_rebuilding_the_relay_is_refused_rather_than_skipping_or_republishing(
        registry, oci, tmp_path):
    oci.push_image("library/app", "v1")
    relay = relay_for(registry, tmp_path, [])
    relay.setup()
    with pytest.raises(NotImplementedError):
        rebuild(registry.app, registry.db, type(relay.view), relay)
    assert relay.position() == 0
