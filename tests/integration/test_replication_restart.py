"""Replication across a restart and under concurrent writers, on SQLite and PostgreSQL: a push
made while the replication worker was down is replicated by the next process (each policy
follows the log from its own saved position); an execution left running resumes; N clients
adding registries and starting executions at once get distinct ids and every 2xx applied."""

import os
import threading

import pytest
from litestar.testing import TestClient

from infra.replication.distribution import RegistryClient
from infra.wiring.app import create_app
from infra.wiring.registry import build_registry
from tests.distribution_server import distribution
from tests.integration.conftest import ADMIN_PASSWORD, basic
from tests.integration.oci_client import OciClient
from tests.integration.webhook_receivers import wait_until

API = "/api/v2.0"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def started(settings):
    registry = build_registry(settings)
    client = TestClient(create_app(settings, registry), base_url="http://registry.test")
    client.headers["authorization"] = basic("admin", ADMIN_PASSWORD)
    return registry, client


def created_id(response) -> int:
    assert response.status_code == 201, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_what_happened_while_down_is_replicated_after_a_restart(settings, tmp_path):
    with distribution(tmp_path / "peer") as peer:
        registry, client = started(settings)
        with client:
            peer_id = created_id(client.post(f"{API}/registries", json={"name": "peer", "url": peer.url}))
            created_id(client.post(f"{API}/replication/policies", json={
                "name": "live", "dest_registry": {"id": peer_id}, "trigger": {"type": "event_based"},
                "filters": [{"type": "name", "value": "library/**"}]}))
            manual = created_id(client.post(f"{API}/replication/policies", json={
                "name": "by-hand", "dest_registry": {"id": peer_id}, "dest_namespace": "manual",
                "filters": [{"type": "name", "value": "library/**"}]}))
            registry.replication_worker.stop()  # replication is down from here on
            oci = OciClient(client)
            first, _ = oci.push_image("library/app", "v1")
            execution_id = created_id(client.post(f"{API}/replication/executions", json={"policy_id": manual}))
            assert client.get(f"{API}/replication/executions/{execution_id}").json()["status"] == "Running"
        registry.close()
        registry, client = started(settings)
        with client:
            with RegistryClient(peer.url) as there:
                wait_until(lambda: there.manifest_digest("library/app", "v1") == first, 60)
                done = wait_until(lambda: (lambda e: e if e["status"] != "Running" else None)(
                    client.get(f"{API}/replication/executions/{execution_id}").json()), 60)
                assert done["status"] == "Success"
                assert there.manifest_digest("manual/app", "v1") == first
                second, _ = OciClient(client).push_image("library/app", "v2")  # and it keeps following
                wait_until(lambda: there.manifest_digest("library/app", "v2") == second, 60)
        registry.close()


def test_many_clients_at_once_get_distinct_ids_and_every_2xx_is_applied(http, registry):
    results: list = []
    lock = threading.Lock()

    def add(n: int) -> None:
        response = http.post(f"{API}/registries", json={"name": f"r{n}", "url": f"http://127.0.0.1:{9 + n}"})
        with lock:
            results.append(response)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r.status_code == 201 or (r.status_code == 503 and r.headers.get("retry-after")) for r in results)
    ids = [int(r.headers["location"].rsplit("/", 1)[1]) for r in results if r.status_code == 201]
    assert len(set(ids)) == len(ids) and ids
    listed = http.get(f"{API}/registries", params={"page_size": 100}).json()
    assert sorted(r["id"] for r in listed) == sorted(ids)
    # executions started at once by several clients: each 201 is an execution of its own
    policy_id = created_id(http.post(f"{API}/replication/policies", json={
        "name": f"p{os.urandom(2).hex()}", "dest_registry": {"id": ids[0]}, "retry_attempts": 1,
        "retry_backoff_seconds": 0}))
    starts: list = []

    def start() -> None:
        response = http.post(f"{API}/replication/executions", json={"policy_id": policy_id})
        with lock:
            starts.append(response)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    execution_ids = [created_id(r) for r in starts]
    assert len(set(execution_ids)) == 6
    listed = http.get(f"{API}/replication/executions", params={"policy_id": policy_id}).json()
    assert sorted(e["id"] for e in listed) == sorted(execution_ids)


def test_single_active_replication_lets_one_of_many_starts_through(http, registry):
    registry_id = created_id(http.post(f"{API}/registries", json={"name": "away", "url": "http://127.0.0.1:9"}))
    policy_id = created_id(http.post(f"{API}/replication/policies", json={
        "name": "one-at-a-time", "dest_registry": {"id": registry_id}, "single_active_replication": True}))
    registry.replication_worker.stop()  # nothing ends them meanwhile
    answers: list = []
    lock = threading.Lock()

    def start() -> None:
        response = http.post(f"{API}/replication/executions", json={"policy_id": policy_id})
        with lock:
            answers.append(response.status_code)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [201] + [409] * 5
    assert len(http.get(f"{API}/replication/executions", params={"policy_id": policy_id}).json()) == 1
