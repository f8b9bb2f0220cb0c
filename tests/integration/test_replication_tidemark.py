"""Replication with a second Tidemark, a real `tidemark serve` process, as a `harbor`
registry: a push creates the destination project through the REST API and copies through
its Docker token service; a pull brings its repositories back."""

import json

import httpx
import pytest

from infra.replication.distribution import RegistryClient
from tests.e2e.conftest import ADMIN_PASSWORD
from tests.integration.webhook_receivers import wait_until

API = "/api/v2.0"


@pytest.fixture
def backend():
    return "sqlite"


def created_id(response) -> int:
    assert response.status_code == 201, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def add_second(http, second) -> int:
    return created_id(http.post(f"{API}/registries", json={
        "name": "second", "url": f"http://{second.host}", "type": "harbor",
        "credential": {"type": "basic", "access_key": "admin", "access_secret": ADMIN_PASSWORD}}))


def run(http, body: dict) -> dict:
    policy_id = created_id(http.post(f"{API}/replication/policies", json={
        "trigger": {"type": "manual"}, "retry_attempts": 2, "retry_backoff_seconds": 0.1, **body}))
    execution_id = created_id(http.post(f"{API}/replication/executions", json={"policy_id": policy_id}))
    return wait_until(lambda: (lambda e: e if e["status"] != "Running" else None)(
        http.get(f"{API}/replication/executions/{execution_id}").json()), 60)


def test_push_to_a_second_tidemark_creates_the_project_and_copies(http, oci, second):
    v1, _ = oci.push_image("library/app", "v1")
    registry_id = add_second(http, second)
    assert http.get(f"{API}/registries/{registry_id}").json()["status"] == "healthy"
    execution = run(http, {"name": "to-second", "dest_registry": {"id": registry_id}, "dest_namespace": "copies",
                           "filters": [{"type": "name", "value": "library/app"}]})
    assert execution["status"] == "Success", execution
    project = httpx.get(f"http://{second.host}{API}/projects/copies", auth=("admin", ADMIN_PASSWORD))
    assert project.status_code == 200 and project.json()["metadata"]["public"] == "false"
    with RegistryClient(f"http://{second.host}", username="admin", password=ADMIN_PASSWORD) as there:
        assert there.manifest_digest("copies/app", "v1") == v1


def test_pull_from_a_second_tidemark(http, second):
    with RegistryClient(f"http://{second.host}", username="admin", password=ADMIN_PASSWORD) as there:
        config = json.dumps({"architecture": "arm64", "os": "linux"}).encode()
        import hashlib

        digest_of = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()  # noqa: E731
        there.push_blob("library/tool", digest_of(config), len(config), lambda offset: [config[offset:]])
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": digest_of(config), "size": len(config)},
                               "layers": []}).encode()
        digest = there.put_manifest("library/tool", "2.0", manifest, "application/vnd.oci.image.manifest.v1+json")
        empty = b"{}"
        there.push_blob("library/tool", digest_of(empty), len(empty), lambda offset: [empty[offset:]])
        signature = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json",
                                "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                                           "digest": digest_of(empty), "size": 2},
                                "layers": [],
                                "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                            "digest": digest, "size": len(manifest)}}).encode()
        signed = there.put_manifest("library/tool", digest_of(signature), signature,
                                    "application/vnd.oci.image.manifest.v1+json")
    registry_id = add_second(http, second)
    execution = run(http, {"name": "from-second", "src_registry": {"id": registry_id}, "dest_registry": {"id": 0},
                           "filters": [{"type": "name", "value": "library/tool"}]})
    assert execution["status"] == "Success", execution
    pulled = http.get("/v2/library/tool/manifests/2.0", headers={"accept": "application/vnd.oci.image.manifest.v1+json"})
    assert pulled.status_code == 200 and pulled.headers["docker-content-digest"] == digest
    referrers = http.get(f"/v2/library/tool/referrers/{digest}").json()["manifests"]
    assert [r["digest"] for r in referrers] == [signed]  # the accessory came with it


def _push_small(there: RegistryClient, repository: str, tag: str, arch: str) -> str:
    import hashlib

    digest_of = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()  # noqa: E731
    config = json.dumps({"architecture": arch, "os": "linux"}).encode()
    there.push_blob(repository, digest_of(config), len(config), lambda offset: [config[offset:]])
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": digest_of(config), "size": len(config)}, "layers": []}).encode()
    return there.put_manifest(repository, tag, manifest, "application/vnd.oci.image.manifest.v1+json")


def test_a_pull_from_a_second_tidemark_keeps_to_the_label_filter(http, second):
    with RegistryClient(f"http://{second.host}", username="admin", password=ADMIN_PASSWORD) as there:
        kept = _push_small(there, "library/labeled", "keep", "amd64")
        _push_small(there, "library/labeled", "skip", "arm64")
    admin = ("admin", ADMIN_PASSWORD)
    base = f"http://{second.host}{API}"
    label = httpx.post(f"{base}/labels", auth=admin, json={"name": "approved", "scope": "g"})
    assert label.status_code == 201, label.text
    label_id = int(label.headers["location"].rsplit("/", 1)[1])
    attached = httpx.post(f"{base}/projects/library/repositories/labeled/artifacts/{kept}/labels", auth=admin,
                          json={"id": label_id})
    assert attached.status_code == 200, attached.text
    registry_id = add_second(http, second)
    execution = run(http, {"name": "labeled-from-second", "src_registry": {"id": registry_id},
                           "dest_registry": {"id": 0},
                           "filters": [{"type": "name", "value": "library/labeled"},
                                       {"type": "label", "value": ["approved"]}]})
    assert execution["status"] == "Success", execution
    accept = {"accept": "application/vnd.oci.image.manifest.v1+json"}
    assert http.get("/v2/library/labeled/manifests/keep", headers=accept).headers["docker-content-digest"] == kept
    assert http.get("/v2/library/labeled/manifests/skip", headers=accept).status_code == 404
