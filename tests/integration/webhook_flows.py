"""The main webhook flows, run on each backend (subclassed per backend like the OCI contract)."""

import time
from uuid import UUID

import msgspec
import pytest

from tests.integration.webhook_receivers import Receiver, down_url, wait_until

HOOKS = "/api/v2.0/projects/library/webhook"


def fast_retries(settings):
    """Retries in tens of milliseconds instead of seconds: 3 attempts, 50 ms then 100 ms."""
    return msgspec.structs.replace(settings, webhook_max_attempts=3, webhook_retry_base_seconds=0.05,
                                   webhook_retry_max_seconds=0.2, webhook_timeout_seconds=5.0)


def create_policy(http, address: str, event_types=("PUSH_ARTIFACT",), name: str = "hook",
                  project: str = "library", **target) -> int:
    body = {"name": name, "enabled": True, "event_types": list(event_types),
            "targets": [{"type": "http", "address": address, **target}]}
    response = http.post(f"/api/v2.0/projects/{project}/webhook/policies", json=body)
    assert response.status_code == 201, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def jobs(http, policy_id: int, status: str | None = None) -> list[dict]:
    query = f"?policy_id={policy_id}&page_size=100" + (f"&status={status}" if status else "")
    response = http.get(f"{HOOKS}/jobs{query}")
    assert response.status_code == 200, response.text
    return response.json()


def finished_jobs(http, policy_id: int, count: int, timeout: float = 15.0) -> list[dict]:
    """Wait until `count` jobs of the policy reached success or error; return them."""
    def done():
        found = jobs(http, policy_id)
        return found if len(found) >= count and all(
            j["status"] in ("success", "error") for j in found) else None
    return wait_until(done, timeout)


def delivery_events(registry, http, job_id: int) -> list[str]:
    """The names of the events recorded in a job's stream, in order."""
    job = http.get(f"{HOOKS}/jobs/{job_id}").json()
    key = registry.webhook_queries.job("library", job_id).job_key
    return [type(e).__name__ for e in registry.webhook_log.events.get(UUID(key))], job


class WebhookFlows:
    @pytest.fixture
    def settings(self, settings):
        return fast_retries(settings)

    def test_a_push_is_delivered_in_harbor_form_with_its_tag(self, http, oci):
        with Receiver() as receiver:
            policy_id = create_policy(http, receiver.url, auth_header="Bearer s3cret")
            digest, _ = oci.push_image("library/app", "v1")
            [delivery] = receiver.wait_for(1)
            body = delivery.json()
            assert body["type"] == "PUSH_ARTIFACT" and body["operator"] == "admin"
            assert body["event_data"]["resources"] == [
                {"digest": digest, "tag": "v1", "resource_url": "registry.test/library/app:v1"}]
            assert body["event_data"]["repository"]["repo_full_name"] == "library/app"
            assert body["event_data"]["repository"]["namespace"] == "library"
            assert delivery.headers["Authorization"] == "Bearer s3cret"
            assert delivery.headers["X-Tidemark-Event-Id"]
            [job] = finished_jobs(http, policy_id, 1)
            assert job["status"] == "success" and job["event_type"] == "PUSH_ARTIFACT"
            detail = http.get(f"{HOOKS}/jobs/{job['id']}").json()
            assert [(a["attempt"], a["status_code"], a["error"]) for a in detail["attempts"]] == [
                (1, 200, "")]
            shown = http.get(f"{HOOKS}/policies/{policy_id}").json()
            assert shown["targets"][0]["auth_header"] == "******"

    def test_a_failing_receiver_is_retried_until_it_answers(self, http, oci, registry):
        with Receiver(fail_first=2) as receiver:
            policy_id = create_policy(http, receiver.url)
            oci.push_image("library/app", "v1")
            deliveries = receiver.wait_for(3)
            assert len({d.headers["X-Tidemark-Event-Id"] for d in deliveries}) == 1  # one event
            assert [d.headers["X-Tidemark-Attempt"] for d in deliveries] == ["1", "2", "3"]
            [job] = finished_jobs(http, policy_id, 1)
            names, detail = delivery_events(registry, http, job["id"])
            assert names == ["Started", "Attempted", "Failed", "Attempted", "Failed", "Attempted",
                             "Succeeded"]
            assert [a["status_code"] for a in detail["attempts"]] == [503, 503, 200]
            assert detail["status"] == "success"
            health = http.get("/api/v2.0/health").json()
            [sender] = [c for c in health["components"] if c["name"] == "webhooks"]
            assert health["status"] == "healthy" and sender["status"] == "healthy"
            assert sender["state"] == "sending" and sender["retrying"] == 0
            assert sender["lag"] == 0 and sender["holder"]

    def test_skip_cert_verify_decides_whether_a_self_signed_receiver_is_trusted(
            self, http, oci, tmp_path):
        with Receiver(tls_dir=tmp_path) as receiver:
            trusting = create_policy(http, receiver.url, name="trusting", skip_cert_verify=True)
            strict = create_policy(http, receiver.url, name="strict")
            oci.push_image("library/app", "v1")
            [delivery] = receiver.wait_for(1)  # only the policy that skips verification
            [job] = finished_jobs(http, trusting, 1)
            assert job["status"] == "success"
            [refused] = finished_jobs(http, strict, 1)
            detail = http.get(f"{HOOKS}/jobs/{refused['id']}").json()
            assert refused["status"] == "error" and "certificate" in detail["attempts"][0]["error"].lower()
            assert len(receiver.received) == 1

    def test_a_receiver_that_is_down_gives_up_after_the_limit(self, http, oci, registry):
        policy_id = create_policy(http, down_url())
        oci.push_image("library/app", "v1")
        [job] = finished_jobs(http, policy_id, 1)
        assert job["status"] == "error"
        assert [j["id"] for j in jobs(http, policy_id, status="error")] == [job["id"]]
        names, detail = delivery_events(registry, http, job["id"])
        assert names[-1] == "GaveUp" and names.count("Attempted") == 3
        assert all(a["status_code"] == 0 and a["error"] for a in detail["attempts"])
        executions = http.get(f"{HOOKS}/policies/{policy_id}/executions").json()
        assert executions[0]["status"] == "Error" and executions[0]["vendor_id"] == policy_id

    def test_a_job_that_gave_up_is_sent_again_on_request(self, http, oci, registry):
        with Receiver(fail_first=3, fail_status=500) as receiver:
            policy_id = create_policy(http, receiver.url)
            oci.push_image("library/app", "v1")
            [job] = finished_jobs(http, policy_id, 1)
            assert job["status"] == "error"
            assert http.post(f"{HOOKS}/jobs/{job['id']}/retry").status_code == 202
            receiver.wait_for(4)
            [job] = finished_jobs(http, policy_id, 1)
            assert job["status"] == "success"
            names, _ = delivery_events(registry, http, job["id"])
            assert names[-3:] == ["RetryRequested", "Attempted", "Succeeded"]

    def test_a_slow_receiver_does_not_slow_pushes(self, http, oci):
        with Receiver(hold=True) as receiver:  # no delivery is answered until the pushes are done
            create_policy(http, receiver.url)
            for index in range(3):
                oci.push_image("library/app", f"v{index}")
            pushed_at = time.time()
            receiver.release()
            deliveries = receiver.wait_for(3)
            # a push that waited for its delivery would have waited for the release (60 s at most)
            assert pushed_at < deliveries[0].at
