"""Harbor's project summary and `_deletable`, as the portal and CLI read them, on SQLite and
PostgreSQL."""

import pytest

from domain.iam.roles import DEVELOPER, GUEST, LIMITED_GUEST, MAINTAINER
from tests.integration.iam_helpers import add_member, anonymous, as_user, create_project, create_user

API = "/api/v2.0"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request):
    return request.param


def test_summary_counts_repositories_members_by_role_and_quota(http, oci):
    create_project(http, "team")
    oci.push_image("team/app", "v1")
    oci.push_image("team/base", "v1")
    for name, role in (("gail", GUEST), ("dev", DEVELOPER), ("dora", DEVELOPER), ("mona", MAINTAINER)):
        create_user(http, name)
        add_member(http, "team", name, role)
    project_id = http.get(f"{API}/projects/team").json()["project_id"]
    assert http.put(f"{API}/quotas/{project_id}", json={"hard": {"storage": 10_000_000}}).status_code == 200
    used = http.get(f"{API}/quotas/{project_id}").json()["used"]["storage"]

    summary = http.get(f"{API}/projects/team/summary")
    assert summary.status_code == 200
    body = summary.json()
    assert body["repo_count"] == 2
    # the project's creator (admin) is its project admin
    admins = len([m for m in http.get(f"{API}/projects/team/members").json() if m["role_id"] == 1])
    assert (body["project_admin_count"], body["maintainer_count"], body["developer_count"],
            body["guest_count"], body["limited_guest_count"]) == (admins, 1, 2, 1, 0)
    assert body["quota"] == {"hard": {"storage": 10_000_000}, "used": {"storage": used}}
    assert used > 0
    assert "registry" not in body
    assert http.get(f"{API}/projects/{project_id}/summary").json() == body
    assert http.get(f"{API}/projects/team/summary", headers=as_user("gail")).json() == body


def test_summary_without_a_quota_shows_unlimited(http):
    create_project(http, "empty")
    body = http.get(f"{API}/projects/empty/summary").json()
    assert body["repo_count"] == 0 and body["quota"]["hard"] == {"storage": -1}


def test_summary_leaves_out_what_the_caller_may_not_see(http, oci):
    create_project(http, "team")
    create_user(http, "lim")
    add_member(http, "team", "lim", LIMITED_GUEST)
    assert http.get(f"{API}/projects/team/summary", headers=as_user("lim")).json() == {"repo_count": 0}
    oci.push_image("library/app", "v1")
    public = anonymous(http, "GET", f"{API}/projects/library/summary")
    assert public.status_code == 200 and public.json() == {"repo_count": 1}
    create_user(http, "outsider")
    hidden = http.get(f"{API}/projects/team/summary", headers=as_user("outsider"))
    assert hidden.status_code == 403 and hidden.json()["errors"][0]["code"] == "FORBIDDEN"
    assert http.get(f"{API}/projects/nowhere/summary").status_code == 404


def test_a_project_with_repositories_is_not_deletable_an_empty_one_is(http, oci):
    create_project(http, "team")
    assert http.get(f"{API}/projects/team/_deletable").json() == {"deletable": True, "message": ""}
    oci.push_image("team/app", "v1")
    body = http.get(f"{API}/projects/team/_deletable").json()
    assert body["deletable"] is False and "repositories" in body["message"]
    # what DELETE does agrees with what _deletable said
    assert http.delete(f"{API}/projects/team").status_code == 412


def test_deletable_needs_the_right_to_delete_the_project(http):
    create_project(http, "team")
    create_user(http, "mona")
    add_member(http, "team", "mona", MAINTAINER)
    refused = http.get(f"{API}/projects/team/_deletable", headers=as_user("mona"))
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "FORBIDDEN"
    assert anonymous(http, "GET", f"{API}/projects/library/_deletable").status_code == 401


def test_deleting_its_repositories_makes_a_project_deletable_and_the_past_still_shows_them(
        http, oci, registry):
    create_project(http, "team")
    oci.push_image("team/app", "v1")
    oci.push_image("team/base", "v1")
    position = registry.app.head()
    assert http.delete(f"{API}/projects/team/repositories/app").status_code == 200
    listed = http.get(f"{API}/projects/team/repositories").json()
    assert [r["name"] for r in listed] == ["team/base"]
    assert http.get(f"{API}/projects/team/repositories/app").status_code == 404
    assert http.get(f"{API}/projects/team").json()["repo_count"] == 1
    assert http.delete(f"{API}/projects/team/repositories/base").status_code == 200
    assert http.get(f"{API}/projects/team/_deletable").json() == {"deletable": True, "message": ""}
    past = http.get(f"{API}/projects/team/repositories", params={"at": str(position)}).json()
    assert [r["name"] for r in past] == ["team/app", "team/base"]  # time travel: both were there
    assert http.delete(f"{API}/projects/team").status_code == 200


def test_a_view_built_before_live_repositories_existed_fills_it_at_start(http, oci, registry):
    create_project(http, "team")
    oci.push_image("team/app", "v1")
    digest, _ = oci.push_image("team/gone", "v1")
    assert http.delete(f"/v2/team/gone/manifests/{digest}").status_code == 202
    with registry.db.write() as w:  # as an older version left it
        w.execute("DROP TABLE oci_live_repositories")
    registry.projector.setup()  # what a start does
    registry.queries.cache.invalidate({("all",)})
    assert http.get(f"{API}/projects/team").json()["repo_count"] == 1
    assert [r["name"] for r in http.get(f"{API}/projects/team/repositories").json()] == ["team/app"]
