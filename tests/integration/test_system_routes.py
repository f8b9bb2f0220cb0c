import pytest

from tests.integration.conftest import basic


@pytest.fixture
def backend():
    return "sqlite"


def test_openapi_document_lists_the_management_routes(http):
    document = http.get("/api/v2.0/openapi.json").json()
    assert "/api/v2.0/projects" in document["paths"] and "/api/v2.0/events" in document["paths"]


def test_systeminfo_names_the_external_url(http):
    info = http.get("/api/v2.0/systeminfo").json()
    assert info["external_url"] == "http://registry.test" and info["auth_mode"] == "db_auth"


def test_statistics_count_what_the_caller_sees(http, oci):
    http.post("/api/v2.0/projects", json={"project_name": "hidden", "metadata": {"public": "false"}})
    oci.push_image("library/app", "v1")
    oci.push_image("hidden/app", "v1")
    admin = http.get("/api/v2.0/statistics").json()
    assert admin["total_project_count"] == 2 and admin["private_repo_count"] == 1
    assert admin["total_storage_consumption"] > 0
    http.post("/api/v2.0/users", json={"username": "gina", "password": "Gina-Passw0rd"})
    other = http.get("/api/v2.0/statistics", headers={"authorization": basic("gina", "Gina-Passw0rd")}).json()
    assert other["total_project_count"] == 1 and other["private_repo_count"] == 0


def test_search_finds_visible_repositories(http, oci):
    oci.push_image("library/searchable", "v1")
    found = http.get("/api/v2.0/search?q=search").json()
    assert [r["repository_name"] for r in found["repository"]] == ["library/searchable"]


def test_copy_artifact_mounts_blobs_and_keeps_the_digest(http, oci, registry):
    digest, body = oci.push_image("library/source", "v1")
    before = registry.app.head()
    response = http.post("/api/v2.0/projects/library/repositories/target/artifacts",
                         params={"from": "library/source:v1"})
    assert response.status_code == 201
    copied = http.get("/v2/library/target/manifests/v1")
    assert copied.status_code == 200 and copied.content == body
    assert registry.app.head() > before
    missing = http.post("/api/v2.0/projects/library/repositories/target/artifacts",
                        params={"from": "library/source@sha256:" + "0" * 64})
    assert missing.status_code == 404
