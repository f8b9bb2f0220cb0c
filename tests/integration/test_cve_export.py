"""CVE export on SQLite and PostgreSQL: a project administrator exports the findings of their
projects as Harbor's CSV, filtered as asked; the file is the findings as of the request; an
execution is its owner's alone (another user's id is a 404, a robot or anonymous caller is
refused), and nobody exports a project they do not administer."""

import csv
import io

import pytest

from tests.integration.conftest import basic
from tests.integration.iam_helpers import as_user, create_user
from tests.scan_fixtures import complete_scan, finding

API = "/api/v2.0"
SCAN_DATA = {"x-scan-data-type": "application/vnd.security.vulnerability.report; version=1.1"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request):
    return request.param


def _user(http, name: str) -> dict:
    """A new user; headers that make a request as them."""
    create_user(http, name)
    return as_user(name)


@pytest.fixture
def world(http, oci, registry):
    """ann administers `ex` (app:v1 with two CVEs, db:v1 with one); bob administers `bx`."""
    ann, bob = _user(http, "ann"), _user(http, "bob")
    ids = {}
    for name, owner in (("ex", ann), ("bx", bob)):
        assert http.post(f"{API}/projects", headers=owner,
                         json={"project_name": name, "metadata": {"public": "false"}}).status_code == 201
        ids[name] = http.get(f"{API}/projects/{name}").json()["project_id"]
    app, _ = oci.push_image("ex/app", "v1")
    db, _ = oci.push_image("ex/db", "v1")
    other, _ = oci.push_image("bx/app", "v1")
    complete_scan(registry, "ex/app", app, [finding("CVE-2024-1000", "Critical", score=9.0, fix="2.0"),
                                            finding("CVE-2024-1001", "Low", package="zlib")])
    complete_scan(registry, "ex/db", db, [finding("CVE-2024-1002", "High")])
    complete_scan(registry, "bx/app", other, [finding("CVE-2024-9999", "High")])
    return {"ann": ann, "bob": bob, "ids": ids, "app": app, "registry": registry}


def _export(http, headers, **body):
    return http.post(f"{API}/export/cve", headers={**headers, **SCAN_DATA}, json=body)


def _rows(http, headers, execution_id) -> list[dict]:
    response = http.get(f"{API}/export/cve/download/{execution_id}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_an_export_holds_the_projects_findings_in_harbors_columns(http, world):
    ann = world["ann"]
    response = _export(http, ann, job_name="weekly", projects=[world["ids"]["ex"]])
    assert response.status_code == 200, response.text
    execution_id = response.json()["id"]
    rows = _rows(http, ann, execution_id)
    assert {r["CVE"] for r in rows} == {"CVE-2024-1000", "CVE-2024-1001", "CVE-2024-1002"}
    first = next(r for r in rows if r["CVE"] == "CVE-2024-1000")
    assert first["Repository"] == "ex/app" and first["Artifact Digest"] == world["app"]
    assert first["Fixed in version"] == "2.0" and first["Severity"] == "Critical" and first["Tags"] == "v1"
    assert first["Scanner"] == "Trivy" and first["CVSS3 Score"] == "9.0"
    execution = http.get(f"{API}/export/cve/execution/{execution_id}", headers=ann).json()
    assert execution["status"] == "Success" and execution["user_name"] == "ann" and execution["file_present"]
    listed = http.get(f"{API}/export/cve/executions", headers=ann).json()["items"]
    assert [e["id"] for e in listed] == [execution_id]


def test_filters_narrow_the_file(http, world):
    ann, ex = world["ann"], world["ids"]["ex"]
    by_cve = _export(http, ann, projects=[ex], cveIds="CVE-2024-1001").json()["id"]
    assert [r["CVE"] for r in _rows(http, ann, by_cve)] == ["CVE-2024-1001"]
    by_repo = _export(http, ann, projects=[ex], repositories="db").json()["id"]
    assert {r["Repository"] for r in _rows(http, ann, by_repo)} == {"ex/db"}
    by_tag = _export(http, ann, projects=[ex], tags="v2").json()["id"]
    assert _rows(http, ann, by_tag) == []


def test_the_file_shows_the_findings_as_of_the_request(http, world):
    ann = world["ann"]
    execution_id = _export(http, ann, projects=[world["ids"]["ex"]]).json()["id"]
    complete_scan(world["registry"], "ex/app", world["app"], [])  # fixed afterwards
    assert len(_rows(http, ann, execution_id)) == 3


def test_nobody_exports_a_project_they_do_not_administer(http, world):
    ann, bob = world["ann"], world["bob"]
    assert _export(http, ann, projects=[world["ids"]["bx"]]).status_code == 403
    assert _export(http, bob, projects=[world["ids"]["ex"], world["ids"]["bx"]]).status_code == 403
    assert _export(http, ann, projects=[999999]).status_code == 404
    assert _export(http, ann, projects=[]).status_code == 400
    assert _export(http, {"authorization": ""}, projects=[world["ids"]["ex"]]).status_code == 401


def test_an_execution_is_its_owners_alone(http, world):
    ann, bob = world["ann"], world["bob"]
    execution_id = _export(http, ann, projects=[world["ids"]["ex"]]).json()["id"]
    for path in (f"execution/{execution_id}", f"download/{execution_id}"):
        assert http.get(f"{API}/export/cve/{path}", headers=bob).status_code == 404
        assert http.get(f"{API}/export/cve/{path}", headers={"authorization": ""}).status_code == 401
    assert http.get(f"{API}/export/cve/executions", headers=bob).json() == {"items": []}
    assert http.delete(f"{API}/export/cve/execution/{execution_id}", headers=bob).status_code == 404
    assert http.delete(f"{API}/export/cve/execution/{execution_id}", headers=ann).status_code == 200
    assert http.get(f"{API}/export/cve/execution/{execution_id}", headers=ann).status_code == 404


def test_a_robot_may_not_own_an_export(http, world):
    robot = http.post(f"{API}/robots", json={"name": "exp", "level": "project", "duration": -1, "permissions": [
        {"kind": "project", "namespace": "ex", "access": [{"resource": "export-cve", "action": "create"}]}]})
    assert robot.status_code == 201, robot.text
    headers = {"authorization": basic(robot.json()["name"], robot.json()["secret"])}
    assert _export(http, headers, projects=[world["ids"]["ex"]]).status_code == 403
    assert http.get(f"{API}/export/cve/executions", headers=headers).status_code == 403
