import pytest

BASE = "/api/v2.0/projects/library/repositories/app/artifacts"


@pytest.fixture
def backend():
    return "sqlite"


def test_label_an_artifact_and_see_it_now_and_not_in_the_past(http, oci, registry):
    digest, _ = oci.push_image("library/app", "v1")
    created = http.post("/api/v2.0/labels", json={"name": "approved", "color": "#00AA00", "scope": "g"})
    assert created.status_code == 201
    label_id = int(created.headers["location"].rsplit("/", 1)[1])
    before = registry.app.head()
    assert http.post(f"{BASE}/{digest}/labels", json={"id": label_id}).status_code == 200
    labelled = {"with_label": "true"}  # labels only when asked for, as in Harbor
    assert [l["name"] for l in http.get(f"{BASE}/{digest}", params=labelled).json()["labels"]] == ["approved"]
    assert http.get(f"{BASE}/{digest}").json()["labels"] is None
    assert http.get(f"{BASE}/{digest}", params={"at": str(before), **labelled}).json()["labels"] == []
    assert http.post(f"{BASE}/{digest}/labels", json={"id": label_id}).status_code == 409
    assert http.delete(f"{BASE}/{digest}/labels/{label_id}").status_code == 200
    assert http.get(f"{BASE}/{digest}", params=labelled).json()["labels"] == []


def test_project_labels_are_listed_per_project(http):
    project_id = http.get("/api/v2.0/projects/library").json()["project_id"]
    http.post("/api/v2.0/labels", json={"name": "team-a", "scope": "p", "project_id": project_id})
    listed = http.get("/api/v2.0/labels", params={"scope": "p", "project_id": project_id}).json()
    assert [l["name"] for l in listed] == ["team-a"] and listed[0]["project_id"] == project_id
    assert http.get("/api/v2.0/labels", params={"scope": "g"}).json() == []


def test_label_update_delete_and_bad_input(http):
    location = http.post("/api/v2.0/labels", json={"name": "x", "scope": "g"}).headers["location"]
    label_id = int(location.rsplit("/", 1)[1])
    assert http.put(f"/api/v2.0/labels/{label_id}", json={"color": "#123456"}).status_code == 200
    assert http.get(f"/api/v2.0/labels/{label_id}").json()["color"] == "#123456"
    bad = http.put(f"/api/v2.0/labels/{label_id}", json={"color": "green"})
    assert bad.status_code == 400 and "color" in bad.json()["errors"][0]["message"]
    assert http.delete(f"/api/v2.0/labels/{label_id}").status_code == 200
    assert http.get(f"/api/v2.0/labels/{label_id}").status_code == 404
    assert http.post("/api/v2.0/labels", json={"name": "y", "scope": "q"}).status_code == 400
