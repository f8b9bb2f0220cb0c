"""Lists behave as Harbor's (issue 13, section 1): `q=` filters in Harbor's syntax on every list,
`sort`, and `page`/`page_size` with `X-Total-Count` and `Link`, on SQLite and PostgreSQL."""

import time

import pytest

from tests.integration.iam_helpers import create_project, create_user

API = "/api/v2.0"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def names(response, field="name") -> list:
    assert response.status_code == 200, response.text
    return [item[field] for item in response.json()]


def refused(response, key: str) -> None:
    assert response.status_code == 400, response.text
    assert key in response.json()["errors"][0]["message"]


@pytest.fixture
def projects(http):
    for name, public in (("alpha", False), ("beta", True), ("gamma", False), ("alphabet", True)):
        create_project(http, name, public)
    return http


def test_projects_filter_exactly_fuzzily_by_set_and_range(projects):
    http = projects
    assert names(http.get(f"{API}/projects", params={"q": "name=alpha"})) == ["alpha"]
    assert names(http.get(f"{API}/projects", params={"q": "name=~alpha"})) == ["alpha", "alphabet"]
    assert names(http.get(f"{API}/projects", params={"q": "name={beta gamma}"})) == ["beta", "gamma"]
    assert set(names(http.get(f"{API}/projects", params={"q": "public=true"}))) >= {"beta", "alphabet"}
    assert "alpha" not in names(http.get(f"{API}/projects", params={"q": "public=true"}))
    ids = {p["name"]: p["project_id"] for p in http.get(f"{API}/projects", params={"page_size": 100}).json()}
    low, high = ids["beta"], ids["gamma"]
    assert names(http.get(f"{API}/projects", params={"q": f"project_id=[{low}~{high}]"})) == ["beta", "gamma"]
    assert names(http.get(f"{API}/projects", params={"q": "name=~alpha,public=true"})) == ["alphabet"]
    assert names(http.get(f"{API}/projects", params={"q": "creation_time=[2000-01-01T00:00:00~]",
                                                     "name": "gam"})) == ["gamma"]
    assert names(http.get(f"{API}/projects", params={"q": "creation_time=[~2000-01-01T00:00:00]"})) == []


def test_projects_sort_and_page_with_headers(projects):
    http = projects
    first = http.get(f"{API}/projects", params={"sort": "-name", "page_size": 2, "q": "name=~a"})
    assert names(first) == ["library", "gamma"]
    assert first.headers["x-total-count"] == "5"
    assert 'rel="next"' in first.headers["link"] and "page=2" in first.headers["link"]
    last = http.get(f"{API}/projects", params={"sort": "-name", "page_size": 2, "page": 3, "q": "name=~a"})
    assert names(last) == ["alpha"]
    assert 'rel="prev"' in last.headers["link"] and 'rel="next"' not in last.headers["link"]
    by_time = names(http.get(f"{API}/projects", params={"sort": "-creation_time,name", "page_size": 100}))
    assert by_time[0] == "alphabet" and by_time[-1] == "library"


def test_empty_page_parameters_mean_the_defaults(projects):
    response = projects.get(f"{API}/projects?page=&page_size=")
    assert response.status_code == 200, response.text
    assert len(response.json()) == 5 and response.headers["x-total-count"] == "5"


@pytest.mark.parametrize("query, key", [({"q": "colour=red"}, "colour"), ({"q": "project_id=abc"}, "project_id"),
                                        ({"q": "public=maybe"}, "public"), ({"q": "name"}, "name"),
                                        ({"sort": "colour"}, "colour"), ({"q": "creation_time=[x~]"}, "creation_time"),
                                        ({"q": "project_id=[1~"}, "project_id")])
def test_a_bad_filter_is_a_400_naming_the_key(projects, query, key):
    refused(projects.get(f"{API}/projects", params=query), key)


def test_users_filter_and_sort(http):
    for name in ("carol", "dave", "caroline"):
        create_user(http, name)
    assert names(http.get(f"{API}/users", params={"q": "username=~carol", "sort": "-username"}),
                 "username") == ["caroline", "carol"]
    assert names(http.get(f"{API}/users", params={"q": "sysadmin_flag=true"}), "username") == ["admin"]
    assert names(http.get(f"{API}/users", params={"q": "email=dave@example.com"}), "username") == ["dave"]
    refused(http.get(f"{API}/users", params={"q": "password=x"}), "password")


def test_robots_filter_by_name_within_a_project(projects):
    http = projects
    for name in ("build", "deploy", "builder"):
        body = {"name": name, "level": "project", "duration": -1, "permissions": [
            {"kind": "project", "namespace": "alpha", "access": [{"resource": "repository", "action": "pull"}]}]}
        assert http.post(f"{API}/robots", json=body).status_code == 201
    project_id = http.get(f"{API}/projects/alpha").json()["project_id"]
    listed = http.get(f"{API}/robots", params={"q": f"Level=project,ProjectID={project_id},name=~build",
                                               "sort": "-name"})
    assert names(listed) == ["robot$alpha+builder", "robot$alpha+build"]
    assert listed.headers["x-total-count"] == "2"
    refused(http.get(f"{API}/robots", params={"q": "secret=x"}), "secret")


def test_members_filter_by_role_and_sort(projects):
    http = projects
    for name, role in (("erin", 2), ("frank", 3), ("grace", 2)):
        create_user(http, name)
        assert http.post(f"{API}/projects/alpha/members",
                         json={"role_id": role, "member_user": {"username": name}}).status_code == 201
    listed = http.get(f"{API}/projects/alpha/members", params={"q": "role_id=2", "sort": "-entity_name"})
    assert names(listed, "entity_name") == ["grace", "erin"]
    assert names(http.get(f"{API}/projects/alpha/members", params={"q": "entity_name=~fra"}),
                 "entity_name") == ["frank"]


def test_labels_are_paged_with_headers_and_filtered(http):
    for name in ("red", "green", "blue"):
        assert http.post(f"{API}/labels", json={"name": name, "scope": "g"}).status_code == 201
    page = http.get(f"{API}/labels", params={"page_size": 2, "sort": "name"})
    assert names(page) == ["blue", "green"]
    assert page.headers["x-total-count"] == "3" and 'rel="next"' in page.headers["link"]
    assert names(http.get(f"{API}/labels", params={"q": "name=~re"})) == ["red", "green"]


def read_all_pages(http, url: str, size: int) -> tuple[list, int]:
    """As Terraform's provider does: pages of `size` until a short one (at most 10 pages)."""
    seen, page = [], 1
    while page <= 10:
        response = http.get(url, params={"page": page, "page_size": size})
        assert response.status_code == 200 and response.headers["x-total-count"] == "15"
        seen += response.json()
        if len(response.json()) < size:
            break
        page += 1
    return seen, page


def test_immutable_rules_pages_end_so_terraform_stops(projects):
    http = projects
    for n in range(15):  # a project holds at most 15 rules, as in Harbor
        body = {"tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": f"r{n}-*"}],
                "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                                    "pattern": "**"}]}}
        assert http.post(f"{API}/projects/alpha/immutabletagrules", json=body).status_code == 201
    url = f"{API}/projects/alpha/immutabletagrules"
    seen, pages = read_all_pages(http, url, 15)
    assert pages == 2 and len({rule["id"] for rule in seen}) == 15
    seen, pages = read_all_pages(http, url, 4)
    assert pages == 4 and len({rule["id"] for rule in seen}) == 15
    disabled = seen[3]["id"]
    assert http.put(f"{API}/projects/alpha/immutabletagrules/{disabled}", json={"disabled": True}).status_code == 200
    assert [r["id"] for r in http.get(f"{API}/projects/alpha/immutabletagrules",
                                      params={"q": "disabled=true"}).json()] == [disabled]


def test_webhook_policies_filter_and_sort(projects):
    http = projects
    for name in ("ci", "chat", "audit"):
        body = {"name": name, "enabled": name != "chat", "event_types": ["PUSH_ARTIFACT"],
                "targets": [{"type": "http", "address": "http://127.0.0.1:9/hook"}]}
        assert http.post(f"{API}/projects/alpha/webhook/policies", json=body).status_code == 201
    base = f"{API}/projects/alpha/webhook/policies"
    assert names(http.get(base, params={"q": "name=c"})) == []  # exact, not a prefix
    assert names(http.get(base, params={"q": "name=~c", "sort": "name"})) == ["chat", "ci"]
    assert names(http.get(base, params={"q": "enabled=false"})) == ["chat"]
    refused(http.get(base, params={"q": "address=x"}), "address")


def test_repositories_of_a_project_filter_and_sort(http, oci):
    for repository in ("library/web", "library/worker", "library/db"):
        oci.push_image(repository, "v1")
    base = f"{API}/projects/library/repositories"
    assert names(http.get(base, params={"q": "name=~w", "sort": "-name"})) == ["library/worker", "library/web"]
    assert names(http.get(base, params={"q": "name=library/db"})) == ["library/db"]
    page = http.get(base, params={"page_size": 1, "sort": "name"})
    assert names(page) == ["library/db"] and page.headers["x-total-count"] == "3"
    refused(http.get(base, params={"q": "tag=v1"}), "tag")


def test_gc_history_filters_by_status(http):
    for _ in range(2):
        started = http.post(f"{API}/system/gc/schedule", json={"schedule": {"type": "Manual"}})
        assert started.status_code == 201
        for _ in range(400):  # one run at a time: wait for this one to end
            if http.get(started.headers["location"]).json()["job_status"] != "Running":
                break
            time.sleep(0.05)
    listed = http.get(f"{API}/system/gc", params={"q": "job_kind=MANUAL", "sort": "id"})
    ids = [run["id"] for run in listed.json()]
    assert listed.status_code == 200 and len(ids) == 2 and ids == sorted(ids)
    assert http.get(f"{API}/system/gc", params={"q": "job_kind=SCHEDULE"}).json() == []
    refused(http.get(f"{API}/system/gc", params={"q": "freed=1"}), "freed")


def test_quotas_sort_by_usage(http, oci):
    create_project(http, "small")
    oci.push_image("library/big", "v1")
    listed = http.get(f"{API}/quotas", params={"sort": "-used.storage", "page_size": 100})
    assert listed.status_code == 200
    assert listed.json()[0]["ref"]["name"] == "library"
    assert listed.json()[-1]["used"]["storage"] == 0
    refused(http.get(f"{API}/quotas", params={"sort": "owner"}), "owner")


def test_audit_logs_sort_by_time_only(http, oci):
    oci.push_image("library/app", "v1")
    newest = http.get(f"{API}/audit-logs", params={"sort": "-op_time"}).json()
    oldest = http.get(f"{API}/audit-logs", params={"sort": "op_time"}).json()
    assert newest[0]["op_time"] >= newest[-1]["op_time"] and oldest[0]["op_time"] <= oldest[-1]["op_time"]
    refused(http.get(f"{API}/audit-logs", params={"sort": "username"}), "sort")
    refused(http.get(f"{API}/projects/library/logs", params={"sort": "username"}), "sort")
