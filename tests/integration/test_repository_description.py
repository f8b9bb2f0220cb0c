"""A repository's description through Harbor's PUT, its GETs, `at=` and the all-repositories list,
on SQLite and PostgreSQL."""

import pytest

from domain.iam.roles import DEVELOPER, GUEST, MAINTAINER
from tests.integration.iam_helpers import add_member, anonymous, as_user, create_project, create_user

API = "/api/v2.0"
REPO = f"{API}/projects/library/repositories/app"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request):
    return request.param


def message(response) -> str:
    body = response.json()
    assert set(body) == {"errors"} and body["errors"][0]["code"] == "BAD_REQUEST", body
    return body["errors"][0]["message"]


def test_put_stores_the_description_and_gets_show_it_now_and_not_before(http, oci, registry):
    oci.push_image("library/app", "v1")
    before = registry.app.head()
    response = http.put(REPO, json={"name": "library/app", "description": "The app image"})
    assert response.status_code == 200, response.text
    assert registry.app.head() == before + 1
    assert http.get(REPO).json()["description"] == "The app image"
    listed = http.get(f"{API}/projects/library/repositories").json()
    assert [(r["name"], r["description"]) for r in listed] == [("library/app", "The app image")]
    assert http.get(REPO, params={"at": str(before)}).json()["description"] == ""

    http.put(REPO, json={"description": "Second words"})
    middle = registry.app.head()
    http.put(REPO, json={"description": ""})
    assert http.get(REPO).json()["description"] == ""
    assert http.get(REPO, params={"at": str(middle)}).json()["description"] == "Second words"


def test_putting_the_same_description_again_records_nothing(http, oci, registry):
    oci.push_image("library/app", "v1")
    http.put(REPO, json={"description": "same"})
    head = registry.app.head()
    assert http.put(REPO, json={"description": "same"}).status_code == 200
    assert registry.app.head() == head


@pytest.mark.parametrize("body, expected", [
    ({"description": 42}, "description must be a string"),
    ({"description": None}, "description must be a string"),
    ({"description": "x" * 1025}, "description must be at most 1024 characters"),
])
def test_bad_descriptions_are_400_naming_the_field_and_record_nothing(http, oci, registry, body, expected):
    oci.push_image("library/app", "v1")
    http.put(REPO, json={"description": "kept"})
    head = registry.app.head()
    response = http.put(REPO, json=body)
    assert response.status_code == 400 and message(response) == expected
    assert registry.app.head() == head
    assert http.get(REPO).json()["description"] == "kept"


def test_a_description_of_exactly_1024_characters_is_kept(http, oci):
    oci.push_image("library/app", "v1")
    assert http.put(REPO, json={"description": "é" * 1024}).status_code == 200
    assert http.get(REPO).json()["description"] == "é" * 1024


def test_unknown_repository_or_project_is_404_and_records_nothing(http, registry):
    head = registry.app.head()
    missing = http.put(f"{API}/projects/library/repositories/nothing", json={"description": "x"})
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "NOT_FOUND"
    assert http.put(f"{API}/projects/nowhere/repositories/app", json={"description": "x"}).status_code == 404
    assert registry.app.head() == head


def test_guests_and_developers_are_refused_maintainers_may_describe(http, oci, registry):
    create_project(http, "team")
    oci.push_image("team/app", "v1")
    for name, role in (("gail", GUEST), ("dev", DEVELOPER), ("mona", MAINTAINER)):
        create_user(http, name)
        add_member(http, "team", name, role)
    url = f"{API}/projects/team/repositories/app"
    head = registry.app.head()
    for name in ("gail", "dev"):
        refused = http.put(url, json={"description": "mine"}, headers=as_user(name))
        assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "FORBIDDEN"
    assert anonymous(http, "PUT", f"{API}/projects/library/repositories/app",
                     json={"description": "x"}).status_code in (401, 404)
    assert registry.app.head() == head
    assert http.put(url, json={"description": "by mona"}, headers=as_user("mona")).status_code == 200
    assert http.get(url, headers=as_user("gail")).json()["description"] == "by mona"


def test_all_repositories_lists_only_what_the_caller_may_read(http, oci):
    create_project(http, "secret")
    oci.push_image("secret/hidden", "v1")
    oci.push_image("library/app", "v1")
    oci.push_image("library/base", "v1")
    http.put(REPO, json={"description": "The app"})
    create_user(http, "outsider")

    as_admin = http.get(f"{API}/repositories")
    assert as_admin.status_code == 200 and as_admin.headers["x-total-count"] == "3"
    by_name = {r["name"]: r for r in as_admin.json()}
    assert set(by_name) == {"library/app", "library/base", "secret/hidden"}
    assert by_name["library/app"]["description"] == "The app"
    library_id = http.get(f"{API}/projects/library").json()["project_id"]
    assert by_name["library/app"]["project_id"] == library_id

    outsider = http.get(f"{API}/repositories", headers=as_user("outsider")).json()
    assert [r["name"] for r in outsider] == ["library/app", "library/base"]
    public_only = anonymous(http, "GET", f"{API}/repositories").json()
    assert [r["name"] for r in public_only] == ["library/app", "library/base"]


def test_all_repositories_pages_filters_and_sorts(http, oci):
    for name in ("alpha", "beta", "gamma"):
        oci.push_image(f"library/{name}", "v1")
    first = http.get(f"{API}/repositories", params={"page_size": 2})
    assert [r["name"] for r in first.json()] == ["library/alpha", "library/beta"]
    assert first.headers["x-total-count"] == "3" and 'rel="next"' in first.headers["link"]
    second = http.get(f"{API}/repositories", params={"page_size": 2, "page": 2})
    assert [r["name"] for r in second.json()] == ["library/gamma"]
    fuzzy = http.get(f"{API}/repositories", params={"q": "name=~mm"}).json()
    assert [r["name"] for r in fuzzy] == ["library/gamma"]
    exact = http.get(f"{API}/repositories", params={"q": "name=library/beta"}).json()
    assert [r["name"] for r in exact] == ["library/beta"]
    newest = http.get(f"{API}/repositories", params={"sort": "-creation_time"}).json()
    assert [r["name"] for r in newest][0] == "library/gamma"
    bad = http.get(f"{API}/repositories", params={"q": "color=red"})
    assert bad.status_code == 400 and "color" in message(bad)
    assert "sort" in message(http.get(f"{API}/repositories", params={"sort": "size"}))


def test_a_description_change_is_audited_and_published(http, oci, registry):
    oci.push_image("library/app", "v1")
    start = registry.app.head()
    assert http.put(REPO, json={"description": "The app image"}).status_code == 200
    assert http.put(REPO, json={"description": "Second words"}).status_code == 200
    registry.catch_up()
    logs = http.get(f"{API}/audit-logs", params={"q": "resource_type=repository"}).json()
    assert [(l["operation"], l["resource"], l["username"]) for l in logs] == [
        ("update", "library/app", "admin"), ("update", "library/app", "admin")]
    feed = http.get(f"{API}/events", params={"after": str(start)}).json()
    assert [(e["type"], e["subject"], e["data"]["description"]) for e in feed] == [
        ("io.tidemark.repository.description_changed.v1", "library/app", "The app image"),
        ("io.tidemark.repository.description_changed.v1", "library/app", "Second words")]
