"""Replication between Tidemark (in process, on SQLite and PostgreSQL) and a real Debian
docker-registry (CNCF Distribution) started by the tests: manual push with the accessories
and an index's children, event-based push that waits out a destination outage, deletion,
namespaces, filters, override, pull, and wrong credentials.

What a test asserts is what the destination serves (asked over HTTP with its own client),
not what Tidemark says it did."""

import json
import os

import httpx
import pytest

from infra.replication.distribution import RegistryClient
from tests.distribution_server import distribution
from tests.integration.oci_client import OCI_MANIFEST, descriptor, sha256
from tests.integration.webhook_receivers import Receiver, wait_until

API = "/api/v2.0"
USERS = {"mirror": "Mirror-Passw0rd"}
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def peer(tmp_path):
    with distribution(tmp_path / "peer", users=USERS) as server:
        yield server


def peer_client(peer) -> RegistryClient:
    return RegistryClient(peer.url, username="mirror", password=USERS["mirror"])


def created_id(response) -> int:
    assert response.status_code == 201, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def add_peer(http, peer, password=USERS["mirror"]) -> int:
    return created_id(http.post(f"{API}/registries", json={
        "name": f"peer{os.urandom(3).hex()}", "url": peer.url, "type": "docker-registry",
        "credential": {"type": "basic", "access_key": "mirror", "access_secret": password}}))


def policy(http, **body) -> int:
    base = {"name": f"policy{os.urandom(3).hex()}", "trigger": {"type": "manual"}, "retry_attempts": 2,
            "retry_backoff_seconds": 0.1}
    return created_id(http.post(f"{API}/replication/policies", json={**base, **body}))


def run(http, policy_id: int, timeout: float = 60) -> dict:
    execution_id = created_id(http.post(f"{API}/replication/executions", json={"policy_id": policy_id}))
    return finished(http, execution_id, timeout)


def finished(http, execution_id: int, timeout: float = 60) -> dict:
    return wait_until(lambda: (lambda e: e if e["status"] != "Running" else None)(
        http.get(f"{API}/replication/executions/{execution_id}").json()), timeout)


def ended(http, policy_id: int) -> list[dict]:
    """The policy's executions, once none is running."""
    return wait_until(lambda: (lambda found: found if all(e["status"] != "Running" for e in found) else None)(
        http.get(f"{API}/replication/executions", params={"policy_id": policy_id}).json()), 30)


def logs(http, execution: dict) -> str:
    tasks = http.get(f"{API}/replication/executions/{execution['id']}/tasks", params={"page_size": 100}).json()
    return "\n".join(http.get(f"{API}/replication/executions/{execution['id']}/tasks/{t['id']}/log").text
                     for t in tasks)


def push_signature(oci, repo: str, subject: str, subject_body: bytes) -> str:
    config = b"{}"
    oci.push_blob(repo, config)
    payload = os.urandom(64)
    oci.push_blob(repo, payload)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json",
                "config": descriptor("application/vnd.oci.empty.v1+json", config),
                "layers": [descriptor("application/vnd.dev.cosign.simplesigning.v1+json", payload)],
                "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": len(subject_body)}}
    digest, _ = oci.push_manifest(repo, sha256(json.dumps(manifest).encode()), manifest)
    return digest


def push_index(oci, repo: str, tag: str) -> tuple[str, list[str]]:
    children = []
    for _ in range(2):
        manifest = oci.image_manifest(repo)
        body = json.dumps(manifest).encode()
        digest, body = oci.push_manifest(repo, sha256(body), manifest)
        children.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body),
                         "platform": {"architecture": "amd64", "os": "linux"}})
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children}
    digest, _ = oci.push_manifest(repo, tag, index, OCI_INDEX)
    return digest, [c["digest"] for c in children]


def test_manual_push_copies_images_indexes_and_accessories_and_checks_them(http, oci, peer):
    v1, v1_body = oci.push_image("library/app", "v1")
    oci.push_image("library/app", "v2")
    signature = push_signature(oci, "library/app", v1, v1_body)
    index, children = push_index(oci, "library/multi", "latest")
    assert http.post(f"{API}/projects", json={"project_name": "other"}).status_code == 201
    oci.push_image("other/skip", "v1")
    policy_id = policy(http, dest_registry={"id": add_peer(http, peer)},
                       filters=[{"type": "name", "value": "library/**"}])
    execution = run(http, policy_id)
    assert execution["status"] == "Success", logs(http, execution)
    assert execution["total"] == 2 and execution["succeed"] == 2
    with peer_client(peer) as there:
        assert there.manifest_digest("library/app", "v1") == v1
        assert there.manifest_digest("library/app", signature) == signature  # the accessory travelled
        assert there.manifest_digest("library/multi", "latest") == index
        assert all(there.manifest_digest("library/multi", c) == c for c in children)
        body, _, _ = there.get_manifest("library/app", "v1")
        for layer in json.loads(body)["layers"]:
            assert there.blob_size("library/app", layer["digest"]) == layer["size"]
        assert there.tags("other/skip") == []
    # again: nothing is sent twice, and it still checks and succeeds
    again = run(http, policy_id)
    assert again["status"] == "Success"
    assert "0 blobs (0 bytes) copied" in logs(http, again)


def test_namespace_tag_filter_and_override(http, oci, peer):
    v1, _ = oci.push_image("library/app", "v1")
    oci.push_image("library/app", "dev-1")
    peer_id = add_peer(http, peer)
    policy_id = policy(http, dest_registry={"id": peer_id}, dest_namespace="mirror", dest_namespace_replace_count=1,
                       filters=[{"type": "name", "value": "library/app"}, {"type": "tag", "value": "v*"}])
    assert run(http, policy_id)["status"] == "Success"
    with peer_client(peer) as there:
        assert there.tags("mirror/app") == ["v1"]
    # the destination's v1 moves; a policy without override leaves it, one with override puts it back
    v1_new, _ = oci.push_image("library/app", "v1")
    keep = policy(http, dest_registry={"id": peer_id}, dest_namespace="mirror", dest_namespace_replace_count=1,
                  override=False, filters=[{"type": "name", "value": "library/app"}, {"type": "tag", "value": "v1"}])
    kept = run(http, keep)
    assert kept["status"] == "Success" and "override is off" in logs(http, kept)
    with peer_client(peer) as there:
        assert there.manifest_digest("mirror/app", "v1") == v1
    assert run(http, policy_id)["status"] == "Success"
    with peer_client(peer) as there:
        assert there.manifest_digest("mirror/app", "v1") == v1_new


def test_event_based_push_waits_out_an_outage_and_replicates_deletion(http, oci, peer):
    policy_id = policy(http, dest_registry={"id": add_peer(http, peer)}, trigger={"type": "event_based"},
                       replicate_deletion=True, filters=[{"type": "name", "value": "library/**"}])
    v1, _ = oci.push_image("library/live", "v1")
    with peer_client(peer) as there:
        wait_until(lambda: there.manifest_digest("library/live", "v1") == v1, 60)
    ended(http, policy_id)
    peer.stop()
    v2, _ = oci.push_image("library/live", "v2")
    # while the destination is away, the change waits: no execution fails for it
    executions = http.get(f"{API}/replication/executions", params={"policy_id": policy_id}).json()
    assert all(e["status"] != "Error" for e in executions)
    peer.start()
    with peer_client(peer) as there:
        wait_until(lambda: there.manifest_digest("library/live", "v2") == v2, 60)
    response = http.delete(f"{API}/projects/library/repositories/live/artifacts/{v1}")
    assert response.status_code == 200, response.text
    with peer_client(peer) as there:
        wait_until(lambda: there.manifest_digest("library/live", v1) is None, 60)
        assert there.manifest_digest("library/live", "v2") == v2
    executions = ended(http, policy_id)
    assert executions and all(e["trigger"] == "event_based" and e["status"] == "Success" for e in executions)


def test_pull_copies_a_peer_repository_into_a_project(http, oci, peer, registry):
    with peer_client(peer) as there:
        config = json.dumps({"architecture": "amd64", "os": "linux", "n": os.urandom(4).hex()}).encode()
        layer = os.urandom(300_000)
        for blob in (config, layer):
            there.push_blob("team/tool", sha256(blob), len(blob), lambda offset, b=blob: [b[offset:]])
        manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": sha256(config), "size": len(config)},
                               "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                           "digest": sha256(layer), "size": len(layer)}]}).encode()
        digest = there.put_manifest("team/tool", "1.0", manifest, OCI_MANIFEST)
    policy_id = policy(http, src_registry={"id": add_peer(http, peer)}, dest_registry={"id": 0},
                       dest_namespace="mirrored", filters=[{"type": "name", "value": "team/**"}])
    execution = run(http, policy_id)
    assert execution["status"] == "Success", logs(http, execution)
    pulled = http.get("/v2/mirrored/tool/manifests/1.0", headers={"accept": OCI_MANIFEST})
    assert pulled.status_code == 200 and pulled.headers["docker-content-digest"] == digest
    blob = http.get(f"/v2/mirrored/tool/blobs/{sha256(layer)}")
    assert blob.status_code == 200 and blob.content == layer
    project = http.get(f"{API}/projects/mirrored").json()
    assert project["metadata"]["public"] == "false"


def test_wrong_credentials_fail_clearly_and_nothing_is_there(http, oci, peer):
    oci.push_image("library/app", "v1")
    policy_id = policy(http, dest_registry={"id": add_peer(http, peer, password="wrong-one")},
                       filters=[{"type": "name", "value": "library/**"}])
    execution = run(http, policy_id)
    assert execution["status"] == "Error" and execution["failed"] == 1
    text = logs(http, execution)
    assert "refused" in text and "401" in text and "wrong-one" not in text
    assert httpx.get(f"{peer.url}/v2/_catalog", auth=("mirror", USERS["mirror"])).json()["repositories"] == []


def test_a_task_that_ends_sends_harbor_s_replication_webhook_to_the_local_project(http, oci, peer):
    oci.push_image("library/app", "v1")
    peer_id = add_peer(http, peer)
    with Receiver() as receiver:
        response = http.post(f"{API}/projects/library/webhook/policies", json={
            "name": "replication", "event_types": ["REPLICATION"], "targets": [{"address": receiver.url}]})
        assert response.status_code == 201, response.text
        policy_id = policy(http, dest_registry={"id": peer_id}, filters=[{"type": "name", "value": "library/**"}])
        assert run(http, policy_id)["status"] == "Success"
        body = receiver.wait_for(1, 30)[0].json()
    assert body["type"] == "REPLICATION" and body["operator"] == "MANUAL"
    replication = body["event_data"]["replication"]
    assert replication["job_status"] == "Success" and replication["trigger_type"] == "MANUAL"
    assert replication["src_resource"]["registry_name"] == "Local"
    assert replication["src_resource"]["namespace"] == "library"
    assert replication["dest_resource"]["endpoint"] == peer.url
    assert replication["dest_resource"]["registry_type"] == "docker-registry"
    assert replication["successful_artifact"] == [{"type": "image", "status": "Success", "name_tag": "app:[v1]"}]
    assert USERS["mirror"] not in json.dumps(body)
