"""N clients writing one aggregate at once, before and after a restart: every 2xx is applied,
a conflict that outlives its retries is a 503 with Retry-After, and the next write works."""

import hashlib
import os
import threading

import pytest
from litestar.testing import TestClient

from infra.wiring.app import create_app
from infra.wiring.registry import build_registry
from tests.integration.conftest import ADMIN_PASSWORD, basic

API = "/api/v2.0"
THREADS = 8
WRITES = 12


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request):
    return request.param


def _storm(http, write) -> list:
    """THREADS threads x WRITES calls of write(http, thread, n); every status code."""
    results: list = []
    lock = threading.Lock()

    def worker(thread: int) -> None:
        for n in range(WRITES):
            response = write(http, thread, n)
            with lock:
                results.append((thread, n, response.status_code, response.headers.get("retry-after")))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _check_statuses(results, ok: int) -> list:
    """Only success or a 503 that says when to retry; the successful (thread, n) pairs."""
    for _, _, status, retry_after in results:
        assert status == ok or (status == 503 and retry_after), results
    return [(thread, n) for thread, n, status, _ in results if status == ok]


def _restarted(settings):
    registry = build_registry(settings)
    client = TestClient(create_app(settings, registry), base_url="http://registry.test")
    client.headers["authorization"] = basic("admin", ADMIN_PASSWORD)
    return registry, client


def _phases(settings, run_phase) -> None:
    """The same storm on a warm server, then right after a restart (empty caches)."""
    for _ in range(2):
        registry, client = _restarted(settings)
        with client:
            run_phase(client, registry)
        registry.close()


def _profile_storm(http, user_id: int) -> None:
    def write(http, thread, n):
        return http.put(f"{API}/users/{user_id}", json={"email": f"t{thread}-{n}@example.com",
                                                        "realname": "Stress", "comment": ""})
    applied = _check_statuses(_storm(http, write), 200)
    assert applied, "no profile update got through"
    emails = {e["data"].get("email") for e in _events(http, "io.tidemark.user.updated.v1")}
    for thread, n in applied:  # a 200 means the change is in the log
        assert f"t{thread}-{n}@example.com" in emails


def _events(http, kind: str) -> list:
    found, after = [], 0
    while True:
        page = http.get(f"{API}/events", params={"after": after, "limit": 1000}).json()
        if not page:
            return found
        found += [e for e in page if e["type"] == kind]
        after = page[-1]["position"]


def test_one_user_written_by_many_clients(settings):
    def phase(http, registry):
        if http.get(f"{API}/users", params={"username": "stress"}).json() == []:
            assert http.post(f"{API}/users", json={"username": "stress", "password": "Stress-Passw0rd",
                                                   "email": "stress@example.com"}).status_code == 201
        user_id = http.get(f"{API}/users", params={"username": "stress"}).json()[0]["user_id"]

        def toggle(http, thread, n):
            return http.put(f"{API}/users/{user_id}/enabled", json={"enabled": (thread + n) % 2 == 0})
        _check_statuses(_storm(http, toggle), 200)
        _profile_storm(http, user_id)
        # The next writes are applied: a disabled user cannot sign in, an enabled one can.
        login = {"authorization": basic("stress", "Stress-Passw0rd")}
        assert http.put(f"{API}/users/{user_id}/enabled", json={"enabled": False}).status_code == 200
        assert http.get(f"{API}/users/current", headers=login).status_code == 401
        assert http.put(f"{API}/users/{user_id}/enabled", json={"enabled": True}).status_code == 200
        assert http.get(f"{API}/users/current", headers=login).status_code == 200
    _phases(settings, phase)


def test_one_project_written_by_many_clients(settings):
    def phase(http, registry):
        if http.head(f"{API}/projects", params={"project_name": "busy"}).status_code == 404:
            assert http.post(f"{API}/projects", json={"project_name": "busy",
                                                      "metadata": {"public": "true"}}).status_code == 201

        def toggle(http, thread, n):
            return http.put(f"{API}/projects/busy", json={"metadata": {"public": str((thread + n) % 2 == 0).lower()}})
        _check_statuses(_storm(http, toggle), 200)
        anonymous = {"authorization": ""}
        assert http.put(f"{API}/projects/busy", json={"metadata": {"public": "false"}}).status_code == 200
        assert http.get(f"{API}/projects/busy", headers=anonymous).status_code in (401, 404)
        assert http.put(f"{API}/projects/busy", json={"metadata": {"public": "true"}}).status_code == 200
        assert http.get(f"{API}/projects/busy", headers=anonymous).status_code == 200
    _phases(settings, phase)


def test_one_quota_charged_by_many_parallel_blob_pushes(settings):
    pushed: dict[str, int] = {}

    def phase(http, registry):
        if http.head(f"{API}/projects", params={"project_name": "blobs"}).status_code == 404:
            assert http.post(f"{API}/projects", json={"project_name": "blobs"}).status_code == 201

        def push(http, thread, n):
            data = os.urandom(100 + thread * WRITES + n)
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            response = http.post(f"/v2/blobs/app/blobs/uploads/?digest={digest}", content=data)
            if response.status_code == 201:
                pushed[digest] = len(data)
            return response
        _check_statuses(_storm(http, push), 201)
        for digest in pushed:  # every 201 is there to pull
            assert http.head(f"/v2/blobs/app/blobs/{digest}").status_code == 200
        project_id = http.get(f"{API}/projects/blobs").json()["project_id"]
        quota = [q for q in http.get(f"{API}/quotas").json() if q["ref"]["id"] == project_id][0]
        assert quota["used"]["storage"] == sum(pushed.values())
        data = b"after the storm"  # and the next push works
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        assert http.post(f"/v2/blobs/app/blobs/uploads/?digest={digest}", content=data).status_code == 201
        pushed[digest] = len(data)
    _phases(settings, phase)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_conflict_past_every_retry_is_503_with_retry_after_in_each_protocol(http, registry, monkeypatch):
    from eventsourcing.persistence import IntegrityError

    assert http.post(f"{API}/projects", json={"project_name": "contended"}).status_code == 201
    real_put = registry.app.events.put

    def conflicts(*args, **kwargs):
        raise IntegrityError("UNIQUE constraint failed: stored_events.originator_id")
    monkeypatch.setattr("commands.retries.time.sleep", lambda seconds: None)
    monkeypatch.setattr(registry.app.events, "put", conflicts)
    rest = http.put(f"{API}/projects/contended", json={"metadata": {"public": "true"}})
    assert rest.status_code == 503 and rest.headers["retry-after"] == "1"
    assert rest.json()["errors"][0]["code"] == "UNAVAILABLE"
    data = b"contended blob"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    oci = http.post(f"/v2/contended/app/blobs/uploads/?digest={digest}", content=data)
    assert oci.status_code == 503 and oci.headers["retry-after"] == "1"
    assert oci.json()["errors"][0]["code"] == "UNAVAILABLE"
    monkeypatch.setattr(registry.app.events, "put", real_put)  # the next write works
    assert http.put(f"{API}/projects/contended", json={"metadata": {"public": "true"}}).status_code == 200
    assert http.head(f"/v2/contended/app/blobs/{digest}").status_code == 404  # nothing was kept
