"""The event feed tells an undelete and a tag restore apart from a push and a move (issue 13,
section 5): `io.tidemark.artifact.undeleted.v1`, and `io.tidemark.tag.restored.v1` carrying the
digest it replaced and the position it restored from. Webhooks keep Harbor's event types."""

import json

import pytest

from tests.integration.webhook_flows import create_policy
from tests.integration.webhook_receivers import Receiver

API = "/api/v2.0"
BASE = f"{API}/projects/library/repositories/app"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def _after(http, position: int) -> list[dict]:
    return http.get(f"{API}/events", params={"after": position, "limit": 1000}).json()


def test_an_undelete_is_not_a_push_and_a_push_of_a_deleted_artifact_still_is(http, oci, registry):
    digest, body = oci.push_image("library/app", "v1")
    assert http.delete(f"{BASE}/artifacts/{digest}").status_code == 200
    before = registry.app.head()
    assert http.post(f"{BASE}/artifacts/{digest}/undelete").status_code == 200
    kinds = [e["type"] for e in _after(http, before)]
    assert "io.tidemark.artifact.undeleted.v1" in kinds and "io.tidemark.artifact.pushed.v1" not in kinds
    undeleted = next(e for e in _after(http, before) if e["type"] == "io.tidemark.artifact.undeleted.v1")
    assert undeleted["data"]["digest"] == digest and undeleted["data"]["undeleted"] is True
    assert http.delete(f"{BASE}/artifacts/{digest}").status_code == 200
    again = registry.app.head()
    oci.push_manifest("library/app", digest, json.loads(body))
    assert "io.tidemark.artifact.pushed.v1" in [e["type"] for e in _after(http, again)]
    only = http.get(f"{API}/events", params={"type": "io.tidemark.artifact.undeleted.v1"}).json()
    assert [e["position"] for e in only] == [undeleted["position"]]


def test_a_tag_restore_carries_the_digest_it_replaced_and_where_it_came_from(http, oci, registry):
    first, _ = oci.push_image("library/app", "latest")
    moment = registry.app.head()
    second, _ = oci.push_image("library/app", "latest")
    moved = [e for e in _after(http, moment) if e["type"].startswith("io.tidemark.tag.")]
    assert [e["type"] for e in moved] == ["io.tidemark.tag.moved.v1"]
    before = registry.app.head()
    assert http.post(f"{BASE}/tags/latest/restore", json={"at": moment}).status_code == 200
    [restored] = _after(http, before)
    assert restored["type"] == "io.tidemark.tag.restored.v1"
    assert restored["data"]["digest"] == first and restored["data"]["previous_digest"] == second
    assert restored["data"]["restored_from"] == moment
    changes = http.get(f"{API}/projects/library/changes", params={"from": before}).json()
    assert [e["type"] for e in changes] == ["io.tidemark.tag.restored.v1"]


def test_webhooks_send_an_undelete_as_a_push_and_a_restore_as_a_tag_set(registry, oci, http):
    digest, _ = oci.push_image("library/app", "v1")
    moment = registry.app.head()
    oci.push_image("library/app", "v1")
    assert http.delete(f"{BASE}/artifacts/{digest}").status_code == 200
    with Receiver() as receiver:
        create_policy(http, receiver.url, event_types=("PUSH_ARTIFACT", "TAG_CREATED"))
        assert http.post(f"{BASE}/artifacts/{digest}/undelete").status_code == 200
        assert http.post(f"{BASE}/tags/v1/restore", json={"at": moment}).status_code == 200
        received = [r.json() for r in receiver.wait_for(2)]
    assert sorted(r["type"] for r in received) == ["PUSH_ARTIFACT", "TAG_CREATED"]
    assert all(r["event_data"]["resources"][0]["digest"] == digest for r in received)


def test_kafka_gets_the_same_types_as_the_feed(registry, oci, http, tmp_path):
    from tests.integration.test_kafka_relay_delivery import relay_for

    digest, _ = oci.push_image("library/app", "v1")
    moment = registry.app.head()
    oci.push_image("library/app", "v1")
    assert http.delete(f"{BASE}/artifacts/{digest}").status_code == 200
    assert http.post(f"{BASE}/artifacts/{digest}/undelete").status_code == 200
    assert http.post(f"{BASE}/tags/v1/restore", json={"at": moment}).status_code == 200
    sent: list = []
    relay = relay_for(registry, tmp_path, sent)
    relay.setup()
    relay.deliver()
    relayed = [headers["ce_type"].decode() for _, _, _, headers in sent]
    fed = [e["type"] for e in http.get(f"{API}/events", params={"limit": 1000}).json()]
    assert relayed == fed
    assert relayed[-1] == "io.tidemark.tag.restored.v1" and "io.tidemark.artifact.undeleted.v1" in relayed
