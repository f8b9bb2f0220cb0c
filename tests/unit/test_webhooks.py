"""Webhook policies, the retry contract of deliveries, and the mapping of stored events to
webhook event types, on the in-memory event store."""

import json

import msgspec
import pytest

from commands.application import RegistryApplication
from commands.artifacts.handlers import RegistryCommands
from commands.artifacts.messages import CreateProject, PushManifest
from commands.webhooks.log import WebhookDeliveryLog
from commands.webhooks.handlers import (
    AUTH_HEADER, AttemptResult, CreatePolicy, RetryContract, RetryJob, UpdatePolicy, WebhookCommands,
)
from domain.base import Actor
from domain.errors import BadRequest, Conflict
from domain.artifacts.manifest_format import OCI_MANIFEST, parse_manifest
from domain.webhooks.targets import PolicySpec, Target, check_spec
from domain.webhooks.delivery import backoff, delivery_key, retryable
from infra.messaging.public_events import cloud_event
from infra.auth.secrets import Keyring
from projections.webhooks.events import translate

ALICE = Actor(name="alice", client_ip="10.0.0.1", request_id="r1")
CONTRACT = RetryContract(max_attempts=3, base_seconds=1.0, cap_seconds=16.0)


@pytest.fixture
def app():
    return RegistryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


class MemorySecrets:
    """The registry's `Secrets` without files: one key, in memory."""

    def __init__(self) -> None:
        self._keyring = Keyring.generate()

    def keyring(self) -> Keyring:
        return self._keyring

    def seal(self, clear: str, purpose: str) -> str:
        return self._keyring.seal(clear, purpose)

    def open(self, value: str, purpose: str) -> str:
        return self._keyring.open(value, purpose)


@pytest.fixture
def secrets():
    return MemorySecrets()


@pytest.fixture
def hooks(app, secrets):
    RegistryCommands(app).create_project(CreateProject("library", True, ALICE))
    return WebhookCommands(app, WebhookDeliveryLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}),
                           secrets)


def spec(address="https://hooks.example.com/in", **fields) -> PolicySpec:
    target = Target(address=address, auth_header="Bearer s3cret")
    return PolicySpec(**{"name": "hook", "targets": [target], "event_types": ["PUSH_ARTIFACT"], **fields})


def test_policy_fields_are_checked_and_normalised():
    checked = check_spec(spec(event_types=["TAG_CREATED", "PUSH_ARTIFACT", "PUSH_ARTIFACT"],
                              name="  hook  "), False)
    assert checked.name == "hook" and checked.event_types == ["PUSH_ARTIFACT", "TAG_CREATED"]
    with pytest.raises(BadRequest, match=r"^targets\[0\]\.address: .*link-local"):
        check_spec(spec("http://169.254.169.254/"), False)
    assert check_spec(spec("http://169.254.169.254/"), True).targets[0].address == "http://169.254.169.254/"
    with pytest.raises(BadRequest, match=r"^event_types: unknown event type 'PUSH'"):
        check_spec(spec(event_types=["PUSH"]), False)


def test_a_policy_is_created_once_per_name_and_keeps_its_secret_when_sent_back_redacted(
        app, hooks, secrets):
    created = hooks.create_policy(CreatePolicy("library", 1, spec(), False, ALICE))
    assert created.position is not None
    with pytest.raises(Conflict):
        hooks.create_policy(CreatePolicy("library", 1, spec(), False, ALICE))
    redacted = msgspec.structs.replace(spec(description="new"), targets=[
        Target(address="https://hooks.example.com/in", auth_header="******")])
    hooks.update_policy(UpdatePolicy("library", 1, "hook", redacted, False, ALICE))
    events = list(app.events.get(_policy_key()))
    assert [type(e).__name__ for e in events] == ["Created", "Updated"]
    sealed = events[-1].targets[0]["auth_header"]
    assert sealed == events[0].targets[0]["auth_header"] and "s3cret" not in json.dumps(
        [e.targets for e in events])
    assert secrets.open(sealed, AUTH_HEADER) == "Bearer s3cret"
    public = cloud_event(app.recorder.select_notifications(start=1, limit=100)[-1])
    assert public["data"]["targets"][0]["auth_header"] == "******"


def _policy_key():
    from domain.webhooks.policy import policy_key

    return policy_key("library", 1, "hook")


def test_the_retry_contract_waits_longer_each_time_and_gives_up_at_the_limit(app, hooks):
    assert [round(backoff(n, 1.0, 16.0, jitter=0)) for n in range(1, 7)] == [1, 2, 4, 8, 16, 16]
    assert retryable(0) and retryable(503) and retryable(429) and not retryable(404)
    key = str(delivery_key("p", "e", 0))
    job = {"project": "library", "policy_id": 1, "policy_key": "p", "job_id": 7, "event_id": "e",
           "position": 3, "event_type": "PUSH_ARTIFACT", "notify_type": "http", "address": "http://x/"}
    hooks.record_attempts([AttemptResult(key, job, 503, "HTTP 503", 5)], CONTRACT, now=100.0)
    for _ in range(3):
        hooks.record_attempts([AttemptResult(key, None, 0, "refused", 1)], CONTRACT, now=101.0)
    names = [type(e).__name__ for e in hooks.deliveries.events.get(delivery_key("p", "e", 0))]
    assert names == ["Started", "Attempted", "Failed", "Attempted", "Failed", "Attempted", "GaveUp"]
    hooks.retry_job(RetryJob(key, ALICE))
    hooks.record_attempts([AttemptResult(key, None, 204, "", 3)], CONTRACT, now=102.0)
    events = list(hooks.deliveries.events.get(delivery_key("p", "e", 0)))
    assert [type(e).__name__ for e in events[-3:]] == ["RetryRequested", "Attempted", "Succeeded"]
    assert events[-2].attempt == 4


def test_a_first_attempt_that_succeeds_is_one_event_and_can_still_be_resent(app, hooks):
    key = str(delivery_key("p", "e", 2))
    job = {"project": "library", "policy_id": 1, "policy_key": "p", "job_id": 9, "event_id": "e",
           "position": 3, "event_type": "PUSH_ARTIFACT", "notify_type": "http", "address": "http://x/"}
    hooks.record_attempts([AttemptResult(key, job, 204, "", 12)], CONTRACT, now=100.0)
    events = list(hooks.deliveries.events.get(delivery_key("p", "e", 2)))
    assert [type(e).__name__ for e in events] == ["Delivered"]
    assert (events[0].job_id, events[0].status_code, events[0].duration_ms) == (9, 204, 12)
    hooks.retry_job(RetryJob(key, ALICE))  # a delivered job may be sent again on request
    hooks.record_attempts([AttemptResult(key, None, 200, "", 3)], CONTRACT, now=101.0)
    events = list(hooks.deliveries.events.get(delivery_key("p", "e", 2)))
    assert [type(e).__name__ for e in events] == ["Delivered", "RetryRequested", "Attempted",
                                                   "Succeeded"]
    assert events[-2].attempt == 2


def test_a_client_error_gives_up_at_once(app, hooks):
    key = str(delivery_key("p", "e", 1))
    job = {"project": "library", "policy_id": 1, "policy_key": "p", "job_id": 8, "event_id": "e",
           "position": 3, "event_type": "PUSH_ARTIFACT", "notify_type": "http", "address": "http://x/"}
    hooks.record_attempts([AttemptResult(key, job, 404, "HTTP 404", 5)], CONTRACT, now=100.0)
    names = [type(e).__name__ for e in hooks.deliveries.events.get(delivery_key("p", "e", 1))]
    assert names == ["Started", "Attempted", "GaveUp"]


def test_a_tagged_push_is_one_push_artifact_with_its_tag_and_one_tag_created(app):
    commands = RegistryCommands(app)
    commands.create_project(CreateProject("library", True, ALICE))
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                       "config": {"mediaType": "x/config", "digest": "sha256:" + "c" * 64, "size": 1},
                       "layers": []}).encode()
    from commands.artifacts.messages import LinkBlob

    commands.link_blob(LinkBlob("library/app", "sha256:" + "c" * 64, 1, ALICE))
    digest = "sha256:" + "e" * 64
    commands.push_manifest(PushManifest("library/app", digest, len(body),
                                        parse_manifest(body, OCI_MANIFEST), "v1", ALICE))
    notifications = app.recorder.select_notifications(start=1, limit=100)
    from infra.store.event_codec import decode_state

    found = []
    for index, n in enumerate(notifications):
        later = notifications[index + 1:]
        found += translate(n, decode_state(n.state),
                           lambda later=later: ((m, decode_state(m.state)) for m in later))
    kinds = [(o.event_type, o.project, o.data["resources"]) for o in found
             if o.event_type in ("PUSH_ARTIFACT", "TAG_CREATED")]
    assert kinds == [("PUSH_ARTIFACT", "library", [{"digest": digest, "tag": "v1"}]),
                     ("TAG_CREATED", "library", [{"digest": digest, "tag": "v1"}])]
    assert len({o.event_id for o in found}) == len(found)  # every occurrence has its own key
