"""Webhook auth headers are sealed in the log and the views: the export holds none (new or
of an older version), deliveries still carry them, a missing key stops the start or the
delivery (never a request without its header), and the key rotates."""

import json

import msgspec
import pytest

from domain.base import Actor
from domain.webhooks.policy import WebhookPolicy
from domain.webhooks.targets import PolicySpec, Target
from tests.integration.keys_helpers import raw_bytes, refusal, running, tidemark
from tests.integration.servers import free_port
from tests.integration.webhook_flows import HOOKS, create_policy, fast_retries, finished_jobs
from tests.integration.webhook_receivers import Receiver

NEW = "Bearer new-s3cret-7f1c"
LEGACY = "Bearer legacy-s3cret-90ab"


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture
def settings(settings):
    return fast_retries(settings)


def _legacy_policy(registry, address: str) -> None:
    """A policy as an older version recorded it: its auth header in clear in the event."""
    project = registry.queries.project_by_key("library", True)
    spec = PolicySpec(name="legacy", event_types=["PUSH_ARTIFACT"],
                      targets=[Target(address=address, auth_header=LEGACY)])
    registry.app.save(WebhookPolicy.create("library", project.project_id, spec, Actor(name="admin")))
    registry.catch_up()


def _headers(receiver) -> set[str]:
    return {d.headers.get("Authorization") for d in receiver.received}


def test_export_holds_no_auth_header_of_new_or_older_policies_and_deliveries_carry_them(settings):
    data = settings.data_path
    with Receiver() as receiver:
        with running(settings) as (registry, client, _):
            create_policy(client, receiver.url, name="new", auth_header=NEW)
            _legacy_policy(registry, receiver.url)
            stored = [h for _, headers in registry.webhook_queries.auth_headers() for h in headers]
            assert LEGACY in stored and not any(NEW in h for h in stored)  # before the upgrade
        with running(settings) as (registry, client, oci):  # the first start of this version
            stored = [h for _, headers in registry.webhook_queries.auth_headers() for h in headers]
            assert len(stored) == 2 and all(h.startswith("sealed:v1:") for h in stored)
            oci.push_image("library/app", "v1")
            receiver.wait_for(2)
            assert _headers(receiver) == {NEW, LEGACY}
            shown = client.get(f"{HOOKS}/policies").json()
            assert {t["auth_header"] for p in shown for t in p["targets"]} == {"******"}
    exported = tidemark(data, "events", "export")
    assert exported.returncode == 0, exported.stderr
    assert "new-s3cret" not in exported.stdout and "legacy-s3cret" not in exported.stdout
    events = [json.loads(line) for line in exported.stdout.splitlines()]
    policy_events = [e for e in events if e["type"].startswith("domain.webhooks.policy:")]
    headers = [t["auth_header"] for e in policy_events for t in e["data"].get("targets", [])]
    assert "******" in headers  # the older version's clear value, redacted
    assert sum(h.startswith("sealed:v1:") for h in headers) == 2  # the new one, the resealed one
    assert [e["data"]["actor"] for e in policy_events if e["type"].endswith("SecretsResealed")]
    # Sealed before any event was made: the new header was never written down in clear.
    assert b"new-s3cret" not in raw_bytes(data)


def test_a_missing_secrets_key_file_stops_the_start_instead_of_sending_without_the_header(settings):
    with Receiver() as receiver:
        with running(settings) as (_, client, _):
            create_policy(client, receiver.url, auth_header=NEW)
        key = settings.data_path / "secrets.key"
        key.unlink()
        why = refusal(settings)
        assert f"the secrets key file {key} is missing" in why and "TIDEMARK_SECRETS_KEY_FILE" in why
        sender = msgspec.structs.replace(settings, role="webhooks")  # the sender process too
        assert f"the secrets key file {key} is missing" in refusal(sender, "webhooks")
        result = tidemark(settings.data_path, "serve", "--port", str(free_port()))
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
        assert result.stderr.startswith(f"tidemark: the secrets key file {key} is missing")
        assert not key.exists() and receiver.received == []


def test_a_header_sealed_with_a_key_the_file_lacks_is_not_sent(settings):
    with Receiver() as receiver:
        with running(settings) as (_, client, _):
            policy_id = create_policy(client, receiver.url, auth_header=NEW)
        (settings.data_path / "secrets.key").unlink()
        assert tidemark(settings.data_path, "keys", "add-secrets-key").returncode == 0  # another key
        with running(settings) as (_, client, oci):
            oci.push_image("library/app", "v1")
            [job] = finished_jobs(client, policy_id, 1)
            [execution] = client.get(f"{HOOKS}/policies/{policy_id}/executions").json()
        assert job["status"] == "error" and receiver.received == []  # nothing sent without it
        assert execution["status"] == "Error" and execution["status_message"].startswith(
            "not sent: the webhook auth header is sealed with key ")


def test_the_secrets_key_rotates_and_the_old_one_retires_once_nothing_uses_it(settings):
    data = settings.data_path
    with Receiver() as receiver:
        with running(settings) as (registry, client, _):
            create_policy(client, receiver.url, auth_header=NEW)
            old = registry.secrets.keyring().current
        added = tidemark(data, "keys", "add-secrets-key")
        assert added.returncode == 0, added.stderr
        refused = tidemark(data, "keys", "retire-secrets-key", old)
        assert refused.returncode == 2
        assert refused.stderr.strip() == (f"tidemark: 1 current secrets are sealed with key {old}: "
                                          "run `tidemark keys reseal` first")
        assert tidemark(data, "keys", "reseal").returncode == 0
        retired = tidemark(data, "keys", "retire-secrets-key", old)
        assert retired.returncode == 0, retired.stderr
        status = tidemark(data, "keys", "status").stdout
        assert old not in status and "seals and opens\t1 secrets" in status
        with running(settings) as (registry, _client, oci):
            assert old not in registry.secrets.keyring().keys
            oci.push_image("library/app", "v1")
            [delivery] = receiver.wait_for(1)
            assert delivery.headers["Authorization"] == NEW
    assert "new-s3cret" not in tidemark(data, "events", "export").stdout
