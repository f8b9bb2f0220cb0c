"""Project storage quotas: counted once per blob per project, refused before bytes are kept."""

import os
import threading

import pytest

from tests.integration.oci_client import sha256


@pytest.fixture
def backend():
    return "sqlite"


def make_project(http, name: str, limit: int) -> int:
    response = http.post("/api/v2.0/projects", json={"project_name": name, "storage_limit": limit})
    assert response.status_code == 201
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_push_over_the_limit_is_denied_and_nothing_is_kept(http, oci, registry):
    quota_id = make_project(http, "small", 1000)
    oci.push_blob("small/app", os.urandom(600))
    big = os.urandom(500)
    response = http.post(f"/v2/small/app/blobs/uploads/?digest={sha256(big)}", content=big)
    assert response.status_code == 403
    error = response.json()["errors"][0]
    assert error["code"] == "DENIED" and "quota" in error["message"]
    assert http.head(f"/v2/small/app/blobs/{sha256(big)}").status_code == 404
    assert registry.blobs.size(sha256(big)) is None
    quota = http.get(f"/api/v2.0/quotas/{quota_id}").json()
    assert quota["hard"]["storage"] == 1000 and quota["used"]["storage"] == 600
    types = [e["type"] for e in http.get("/api/v2.0/events?project=small&limit=1000").json()]
    assert "io.tidemark.quota.exceeded.v1" in types


def test_a_blob_shared_by_repositories_counts_once(http, oci):
    quota_id = make_project(http, "shared", -1)
    data = os.urandom(300)
    oci.push_blob("shared/a", data)
    oci.push_blob("shared/b", data)
    http.post(f"/v2/shared/c/blobs/uploads/?mount={sha256(data)}&from=shared/a")
    assert http.get(f"/api/v2.0/quotas/{quota_id}").json()["used"]["storage"] == 300


def test_parallel_pushers_never_overshoot(http, oci, registry):
    quota_id = make_project(http, "race", 10_000)
    results = []

    def push(index: int) -> None:
        data = os.urandom(1000) + bytes([index])
        response = http.post(f"/v2/race/app{index}/blobs/uploads/?digest={sha256(data)}", content=data)
        results.append(response.status_code)

    threads = [threading.Thread(target=push, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    used = http.get(f"/api/v2.0/quotas/{quota_id}").json()["used"]["storage"]
    assert results.count(201) == 9 and results.count(403) == 11
    assert used == 9 * 1001 and used <= 10_000


def test_warning_event_at_the_threshold(http, oci):
    make_project(http, "warn", 1000)
    oci.push_blob("warn/app", os.urandom(900))
    types = [e["type"] for e in http.get("/api/v2.0/events?project=warn&limit=1000").json()]
    assert "io.tidemark.quota.warning.v1" in types


@pytest.mark.parametrize("hard", [{"storage": "lots"}, {"storage": -5}, {"storage": 1.5}, {}])
def test_bad_limits_are_400_naming_the_field(http, hard):
    quota_id = make_project(http, "bad", -1)
    response = http.put(f"/api/v2.0/quotas/{quota_id}", json={"hard": hard})
    assert response.status_code == 400 and "hard.storage" in response.json()["errors"][0]["message"]


def test_limit_below_usage_is_refused(http, oci):
    quota_id = make_project(http, "full", -1)
    oci.push_blob("full/app", os.urandom(500))
    response = http.put(f"/api/v2.0/quotas/{quota_id}", json={"hard": {"storage": 100}})
    assert response.status_code == 400 and "usage" in response.json()["errors"][0]["message"]
    assert http.put(f"/api/v2.0/quotas/{quota_id}", json={"hard": {"storage": 600}}).status_code == 200
