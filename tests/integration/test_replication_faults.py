"""Replication when the destination misbehaves: a real docker-registry behind a proxy that
cuts an upload mid-chunk, answers 500s, or names a wrong digest. A task is Success only when
the destination serves what it should; otherwise its status and log say why."""

import json
import os

import pytest

from infra.replication.distribution import RegistryClient
from tests.distribution_server import FaultyProxy, distribution
from tests.integration.oci_client import OCI_MANIFEST, descriptor, sha256
from tests.integration.webhook_receivers import wait_until
from workers.replication import push

API = "/api/v2.0"


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture
def proxy(tmp_path):
    with distribution(tmp_path / "peer") as server, FaultyProxy(server.url) as proxy:
        proxy.server = server
        yield proxy


def created_id(response) -> int:
    assert response.status_code == 201, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def replicate(http, proxy, **more) -> dict:
    registry_id = created_id(http.post(f"{API}/registries", json={"name": f"r{os.urandom(3).hex()}", "url": proxy.url}))
    policy_id = created_id(http.post(f"{API}/replication/policies", json={
        "name": f"p{os.urandom(3).hex()}", "dest_registry": {"id": registry_id}, "retry_attempts": 3,
        "retry_backoff_seconds": 0.05, "filters": [{"type": "name", "value": "library/**"}], **more}))
    execution_id = created_id(http.post(f"{API}/replication/executions", json={"policy_id": policy_id}))
    return wait_until(lambda: (lambda e: e if e["status"] != "Running" else None)(
        http.get(f"{API}/replication/executions/{execution_id}").json()), 60)


def log_of(http, execution: dict) -> str:
    task = http.get(f"{API}/replication/executions/{execution['id']}/tasks").json()[0]
    return http.get(f"{API}/replication/executions/{execution['id']}/tasks/{task['id']}/log").text


def push_big_image(oci, repo: str, size: int) -> tuple[str, str]:
    layer = os.urandom(size)
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    oci.push_blob(repo, config)
    oci.push_blob(repo, layer)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": descriptor("application/vnd.oci.image.config.v1+json", config),
                "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", layer)]}
    digest, _ = oci.push_manifest(repo, "v1", manifest)
    return digest, sha256(layer)


def test_a_chunked_copy_cut_mid_way_goes_on_from_what_the_destination_holds(http, oci, proxy, monkeypatch):
    monkeypatch.setattr(push, "CHUNK", 256 * 1024)
    digest, layer = push_big_image(oci, "library/big", 1024 * 1024)
    proxy.cut_patch(2)  # the second PATCH breaks after half its body
    execution = replicate(http, proxy, copy_by_chunk=True)
    assert execution["status"] == "Success", log_of(http, execution)
    patches = [s for s in proxy.seen if s.method == "PATCH"]
    assert any(s.status is None for s in patches)  # the cut happened
    assert any(s.method == "GET" and "/blobs/uploads/" in s.path for s in proxy.seen)  # it asked where it stood
    with RegistryClient(proxy.server.url) as there:
        assert there.manifest_digest("library/big", "v1") == digest
        assert there.blob_size("library/big", layer) == 1024 * 1024


def test_500s_are_retried_and_the_copy_still_checks(http, oci, proxy):
    digest, _ = oci.push_image("library/app", "v1")
    proxy.fail_next(2)
    execution = replicate(http, proxy)
    assert execution["status"] == "Success", log_of(http, execution)
    assert "attempt 1 of 3" in log_of(http, execution)
    with RegistryClient(proxy.server.url) as there:
        assert there.manifest_digest("library/app", "v1") == digest


def test_a_destination_that_keeps_failing_is_an_error_never_a_success(http, oci, proxy):
    oci.push_image("library/app", "v1")
    proxy.fail_next(10_000)
    execution = replicate(http, proxy)
    assert execution["status"] == "Error" and execution["failed"] == 1 and execution["succeed"] == 0
    text = log_of(http, execution)
    assert "after 3 attempts" in text and "500" in text
    with RegistryClient(proxy.server.url) as there:
        assert there.tags("library/app") == []


def test_a_wrong_digest_answered_is_seen_and_the_copy_checked_by_digest(http, oci, proxy):
    digest, _ = oci.push_image("library/app", "v1")
    proxy.rewrite_manifest_digest("sha256:" + "0" * 64)
    execution = replicate(http, proxy)
    text = log_of(http, execution)
    assert "sha256:" + "0" * 64 in text  # the wrong answer is in the log
    assert execution["status"] == "Success", text  # ... and what is there was checked by digest
    with RegistryClient(proxy.server.url) as there:
        assert there.manifest_digest("library/app", digest) == digest
