import pytest


@pytest.fixture
def backend():
    return "sqlite"


def test_ping_answers_pong(http):
    response = http.get("/api/v2.0/ping")
    assert response.status_code == 200 and response.text == "Pong"


def test_health_reports_each_component(http):
    body = http.get("/api/v2.0/health").json()
    assert body["status"] == "healthy"
    names = [c["name"] for c in body["components"]]
    assert names[:3] == ["event_store", "query_models", "blob_storage"]
    assert set(names[3:]) <= {"webhooks"}  # background workers that have reported a state
    assert all(c["status"] == "healthy" for c in body["components"])


def test_health_turns_unhealthy_when_storage_fails(http, registry, monkeypatch):
    def broken(digest):
        raise OSError("disk gone")

    monkeypatch.setattr(registry.blobs, "size", broken)
    response = http.get("/api/v2.0/health")
    assert response.status_code == 503
    assert {"name": "blob_storage", "status": "unhealthy", "error": "OSError"} in response.json()["components"]


def test_metrics_show_requests_and_projection_lag(http, oci):
    oci.push_image("library/app", "v1")
    text = http.get("/metrics").text
    assert 'tidemark_http_requests_total{method="PUT",status="201"}' in text
    assert 'tidemark_projection_lag_events{projection="oci"} 0.0' in text


def test_every_answer_carries_a_request_id(http):
    response = http.get("/v2/", headers={"x-request-id": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    assert len(http.get("/v2/").headers["x-request-id"]) == 32


def test_catalog_shows_non_admins_only_what_they_may_pull(http, oci, registry):
    from tests.integration.conftest import basic

    oci.push_blob("library/open", b"public")
    assert http.post("/api/v2.0/projects", json={"project_name": "hidden",
                                                 "metadata": {"public": "false"}}).status_code == 201
    oci.push_blob("hidden/app", b"private")
    assert http.post("/api/v2.0/users", json={"username": "carol", "password": "Carol-Passw0rd"}).status_code == 201
    assert set(http.get("/v2/_catalog").json()["repositories"]) == {"library/open", "hidden/app"}
    as_carol = http.get("/v2/_catalog", headers={"authorization": basic("carol", "Carol-Passw0rd")})
    assert as_carol.json()["repositories"] == ["library/open"]


def test_forgotten_upload_sessions_expire_as_abandoned(http, registry):
    import os
    import time

    from domain.artifacts.upload import Upload
    from workers.upload_sweeper import sweep_expired_uploads

    location = http.post("/v2/library/app/blobs/uploads/").headers["location"]
    http.patch(location, content=b"half")
    upload_id = location.rsplit("/", 1)[1]
    stale = time.time() - registry.settings.upload_ttl_seconds - 60
    os.utime(registry.uploads.root / upload_id / "data", (stale, stale))
    assert sweep_expired_uploads(registry) == 1
    assert http.get(location).status_code == 404
    last = registry.app.mapper.to_domain_event(
        registry.app.recorder.select_notifications(start=registry.app.head(), limit=1)[0])
    assert isinstance(last, Upload.Abandoned) and last.reason == "expired" and last.received_bytes == 4
