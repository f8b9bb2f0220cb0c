"""Webhooks on SQLite: the main flows, payload forms, event types, replay and restart."""

import json
import time
from datetime import datetime, timezone

import msgspec
import pytest
from litestar.testing import TestClient

from infra.wiring.app import create_app
from infra.wiring.registry import build_registry
from tests.integration.conftest import ADMIN_PASSWORD, basic
from tests.integration.oci_client import OciClient
from tests.integration.webhook_flows import (
    HOOKS, WebhookFlows, create_policy, fast_retries, finished_jobs, jobs,
)
from tests.integration.webhook_receivers import Receiver, down_url, wait_until


@pytest.fixture
def backend():
    return "sqlite"


class TestWebhooksOnSqlite(WebhookFlows):
    pass


@pytest.fixture
def settings(settings):
    return fast_retries(settings)


def test_cloudevents_and_slack_targets_get_their_own_forms(http, oci):
    with Receiver() as cloud, Receiver() as slack:
        body = {"name": "forms", "event_types": ["PUSH_ARTIFACT"], "targets": [
            {"type": "http", "address": cloud.url, "payload_format": "CloudEvents"},
            {"type": "slack", "address": slack.url}]}
        assert http.post(f"{HOOKS}/policies", json=body).status_code == 201
        digest, _ = oci.push_image("library/app", "v1")
        [event] = cloud.wait_for(1)
        assert event.headers["Content-Type"] == "application/cloudevents+json"
        ce = event.json()
        assert ce["specversion"] == "1.0" and ce["type"] == "harbor.artifact.pushed"
        assert ce["id"] == event.headers["X-Tidemark-Event-Id"]
        assert ce["data"]["resources"][0]["digest"] == digest
        [message] = slack.wait_for(1)
        assert set(message.json()) == {"text"} and "PUSH_ARTIFACT" in message.json()["text"]


def test_tidemark_event_types_follow_tags_deletions_and_pulls(http, oci):
    with Receiver() as receiver:
        create_policy(http, receiver.url, ["PULL_ARTIFACT", "DELETE_ARTIFACT", "TAG_CREATED",
                                           "TAG_DELETED", "DELETE_REPOSITORY"])
        digest, _ = oci.push_image("library/app", "v1")
        kinds = lambda: sorted(d.json()["type"] for d in receiver.received)  # noqa: E731
        wait_until(lambda: kinds() == ["TAG_CREATED"])
        assert http.get("/v2/library/app/manifests/v1").status_code == 200
        http.app.state.registry.pulls.flush()
        wait_until(lambda: "PULL_ARTIFACT" in kinds())
        assert http.delete(f"/v2/library/app/manifests/{digest}").status_code == 202
        wait_until(lambda: len(receiver.received) == 5)
        assert kinds() == ["DELETE_ARTIFACT", "DELETE_REPOSITORY", "PULL_ARTIFACT", "TAG_CREATED",
                           "TAG_DELETED"]
        deleted = next(d.json() for d in receiver.received if d.json()["type"] == "DELETE_ARTIFACT")
        assert deleted["event_data"]["resources"][0] == {
            "digest": digest, "tag": "v1", "resource_url": "registry.test/library/app:v1"}


def test_policy_sees_only_events_after_it_and_a_replay_sends_older_ones(http, oci):
    first, _ = oci.push_image("library/app", "old")
    with Receiver() as receiver:
        policy_id = create_policy(http, receiver.url)
        oci.push_image("library/app", "new")
        [delivery] = receiver.wait_for(1)
        assert delivery.json()["event_data"]["resources"][0]["tag"] == "new"
        replay = http.post(f"{HOOKS}/policies/{policy_id}/replay", json={"from": 0})
        assert replay.status_code == 202, replay.text
        deliveries = receiver.wait_for(3)
        tags = sorted(d.json()["event_data"]["resources"][0]["tag"] for d in deliveries[1:])
        assert tags == ["new", "old"]
        replayed = [j for j in finished_jobs(http, policy_id, 3)]
        assert len(replayed) == 3 and all(j["status"] == "success" for j in replayed)


def test_disabled_policies_get_nothing_and_deleted_ones_vanish(http, oci):
    with Receiver() as receiver:
        policy_id = create_policy(http, receiver.url)
        policy = http.get(f"{HOOKS}/policies/{policy_id}").json()
        assert http.put(f"{HOOKS}/policies/{policy_id}", json={**policy, "enabled": False}).status_code == 200
        oci.push_image("library/app", "v1")
        enabled = create_policy(http, receiver.url, name="other")
        oci.push_image("library/app", "v2")
        receiver.wait_for(1)
        assert jobs(http, policy_id) == [] and len(finished_jobs(http, enabled, 1)) == 1
        assert http.delete(f"{HOOKS}/policies/{policy_id}").status_code == 200
        assert http.get(f"{HOOKS}/policies/{policy_id}").status_code == 404
        assert [p["name"] for p in http.get(f"{HOOKS}/policies").json()] == ["other"]


def test_pending_deliveries_resume_after_a_restart(settings):
    patient = msgspec.structs.replace(settings, webhook_max_attempts=1000)
    address = down_url()
    first = build_registry(patient)
    with TestClient(create_app(patient, first), base_url="http://registry.test") as client:
        client.headers["authorization"] = basic("admin", ADMIN_PASSWORD)
        policy_id = create_policy(client, address)
        OciClient(client).push_image("library/app", "v1")
        wait_until(lambda: [j for j in jobs(client, policy_id) if j["status"] == "scheduled"])
    first.close()  # stops between two attempts
    port = int(address.rsplit(":", 1)[1].split("/")[0])
    with Receiver(port=port) as receiver:
        second = build_registry(patient)
        try:
            second.start(follow=False)
            [pending], _ = second.webhook_queries.jobs("library", policy_id, [], 0, 10)
            assert pending.status == "scheduled" and pending.attempts >= 1  # known from the log
            second.webhook_worker.start()
            [delivery] = receiver.wait_for(1)
            assert int(delivery.headers["X-Tidemark-Attempt"]) == pending.attempts + 1
            wait_until(lambda: second.webhook_queries.jobs("library", policy_id, ["success"], 0, 10)[1])
        finally:
            second.close()


def test_last_trigger_supported_events_and_redacted_public_events(http, oci):
    with Receiver() as receiver:
        policy_id = create_policy(http, receiver.url, ["PUSH_ARTIFACT", "SCANNING_COMPLETED"],
                                  auth_header="Bearer s3cret")
        oci.push_image("library/app", "v1")
        finished_jobs(http, policy_id, 1)
    triggers = {t["event_type"]: t for t in http.get(f"{HOOKS}/lasttrigger").json()}
    assert triggers["PUSH_ARTIFACT"]["last_trigger_time"] and triggers["SCANNING_COMPLETED"]["last_trigger_time"] is None
    supported = http.get(f"{HOOKS}/events").json()
    assert "PUSH_ARTIFACT" in supported["event_type"] and "TAG_CREATED" in supported["event_type"]
    assert supported["event_type_without_source"] == []  # REPLICATION has its source now
    assert "SCANNING_COMPLETED" not in supported["event_type_without_source"]
    assert "TAG_RETENTION" not in supported["event_type_without_source"]
    assert {"notify_type": "http", "formats": ["Default", "CloudEvents"]} in supported["payload_formats"]
    feed = http.get("/api/v2.0/events?type=io.tidemark.webhook.policy_created.v1").json()
    assert feed and "s3cret" not in json.dumps(feed)
    assert feed[0]["data"]["targets"][0]["auth_header"] == "******"


def test_sending_the_redacted_header_back_keeps_the_stored_one(http, oci):
    with Receiver() as receiver:
        policy_id = create_policy(http, receiver.url, auth_header="Bearer s3cret")
        shown = http.get(f"{HOOKS}/policies/{policy_id}").json()
        shown["description"] = "edited in a form that got the redacted header"
        assert http.put(f"{HOOKS}/policies/{policy_id}", json=shown).status_code == 200
        oci.push_image("library/app", "v1")
        [delivery] = receiver.wait_for(1)
        assert delivery.headers["Authorization"] == "Bearer s3cret"


def test_pushing_an_artifact_already_there_under_a_new_tag_is_a_push_as_in_harbor(http, oci):
    with Receiver() as receiver:
        create_policy(http, receiver.url, ["PUSH_ARTIFACT", "TAG_CREATED"])
        manifest = oci.image_manifest("library/app")
        digest, _ = oci.push_manifest("library/app", "v1", manifest)
        oci.push_manifest("library/app", "stable", manifest)  # same bytes, another tag (a promotion)
        tagged = http.post("/api/v2.0/projects/library/repositories/app/artifacts/v1/tags",
                           json={"name": "via-api"})  # tagging through the API is not a push
        assert tagged.status_code == 201, tagged.text
        seen = lambda: sorted((d.json()["type"], d.json()["event_data"]["resources"][0]["tag"])  # noqa: E731
                              for d in receiver.received)
        wait_until(lambda: len(receiver.received) == 5)
        assert seen() == [("PUSH_ARTIFACT", "stable"), ("PUSH_ARTIFACT", "v1"),
                          ("TAG_CREATED", "stable"), ("TAG_CREATED", "v1"), ("TAG_CREATED", "via-api")]
        assert all(d.json()["event_data"]["resources"][0]["digest"] == digest for d in receiver.received)
        time.sleep(0.5)
        assert len(receiver.received) == 5  # and nothing more


def test_a_retention_run_that_deletes_is_sent_as_tag_retention_a_dry_run_is_not(http, oci, registry):
    from tests.integration.retention_flows import create_policy as retention_policy
    from tests.integration.retention_flows import execute, rule

    for name in ("old", "mid", "new"):
        oci.push_image("library/app", name)
    with Receiver() as receiver:
        create_policy(http, receiver.url, ["TAG_RETENTION"])
        url = retention_policy(http, rule("latestPushedK", {"latestPushedK": 1}))
        dry = execute(http, registry, url, dry_run=True)
        real = execute(http, registry, url, dry_run=False)
        assert (dry["deleted"], real["deleted"]) == (2, 2)
        [delivery] = receiver.wait_for(1)
        body = delivery.json()
        assert body["type"] == "TAG_RETENTION" and body["operator"] == "MANUAL"
        retention = body["event_data"]["retention"]
        assert (retention["total"], retention["retained"], retention["result"]) == (3, 1, "SUCCESS")
        assert retention["project_name"] == "library" and retention["harbor_hostname"] == "registry.test"
        assert retention["retention_policy_id"] == int(url.rsplit("/", 1)[1])
        assert [r["template"] for r in retention["retention_rule"]] == ["latestPushedK"]
        assert sorted(a["tag"] for a in retention["deleted_artifact"]) == ["mid", "old"]
        assert {a["name_tag"] for a in retention["deleted_artifact"]} == {"library/app:old",
                                                                           "library/app:mid"}
        time.sleep(0.5)
        assert len(receiver.received) == 1  # the dry run sent nothing


def test_webhook_views_rebuild_to_the_same_content(http, oci, registry):
    from projections.projector import checksum
    from projections.rebuild import rebuild

    with Receiver(fail_first=1) as receiver:
        policy_id = create_policy(http, receiver.url, ["PUSH_ARTIFACT", "TAG_CREATED"])
        for tag in ("v1", "v2"):
            oci.push_image("library/app", tag)
        finished_jobs(http, policy_id, 4)
        assert http.post(f"{HOOKS}/policies/{policy_id}/replay", json={"from": 0}).status_code == 202
        finished_jobs(http, policy_id, 8)
    views = [(registry.app, p) for p in registry.projectors
             if p.name in ("webhook_policies", "webhook_dispatch")]
    for log, projector in [*views, (registry.webhook_log, registry.webhook_job_projector)]:
        projector.catch_up()
        live = checksum(projector.db, projector.view.p, projector.view.tables)
        assert rebuild(log, projector.db, type(projector.view), projector) == live, projector.name


def test_a_receiver_slower_than_the_timeout_is_retried_then_given_up(settings):
    impatient = msgspec.structs.replace(settings, webhook_timeout_seconds=0.3)
    registry = build_registry(impatient)
    try:
        with Receiver(delay=1.0) as receiver, TestClient(
                create_app(impatient, registry), base_url="http://registry.test") as client:
            client.headers["authorization"] = basic("admin", ADMIN_PASSWORD)
            policy_id = create_policy(client, receiver.url)
            OciClient(client).push_image("library/app", "v1")
            [job] = finished_jobs(client, policy_id, 1)
            detail = client.get(f"{HOOKS}/jobs/{job['id']}").json()
            assert detail["status"] == "error" and len(detail["attempts"]) == 3
            assert all(a["error"] == "timed out after 0.3 s" for a in detail["attempts"])
    finally:
        registry.close()


def test_a_replay_from_a_time_sends_only_what_happened_since(http, oci):
    oci.push_image("library/app", "before")
    time.sleep(0.05)
    since = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    time.sleep(0.05)
    oci.push_image("library/app", "after")
    with Receiver() as receiver:
        policy_id = create_policy(http, receiver.url)
        assert http.post(f"{HOOKS}/policies/{policy_id}/replay",
                         json={"from": "yesterday"}).status_code == 400
        assert jobs(http, policy_id) == []  # a refused replay records nothing
        assert http.post(f"{HOOKS}/policies/{policy_id}/replay",
                         json={"from": since}).status_code == 202
        [delivery] = receiver.wait_for(1)
        assert delivery.json()["event_data"]["resources"][0]["tag"] == "after"
        assert len(finished_jobs(http, policy_id, 1)) == 1
        time.sleep(0.3)
        assert len(receiver.received) == 1
