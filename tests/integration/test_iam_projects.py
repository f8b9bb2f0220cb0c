"""Projects through the Harbor v2.0 REST API (their members: test_iam_members.py)."""

import pytest

from tests.integration.iam_helpers import (
    API, IamTests, add_member, anonymous, as_user, create_project, create_user, errors,
)

PROJECT_FIELDS = {"project_id", "owner_id", "name", "owner_name", "creation_time", "update_time",
                  "deleted", "repo_count", "metadata", "current_user_role_id",
                  "current_user_role_ids"}
MEMBER_FIELDS = {"id", "project_id", "entity_name", "role_name", "role_id", "entity_id",
                 "entity_type"}


@pytest.fixture
def backend():
    return "sqlite"


def link_targets(response) -> dict[str, str]:
    """rel -> URL from a Link header (`<url>; rel="next", <url>; rel="prev"`)."""
    links = {}
    for part in response.headers.get("link", "").split(","):
        if part.strip():
            url, rel = part.split(";", 1)
            links[rel.strip().removeprefix("rel=").strip('"')] = url.strip().strip("<>")
    return links


class TestProjects(IamTests):
    def test_user_creates_a_project_and_becomes_its_project_admin(self, http):
        # given
        alice_id = create_user(http, "alice")
        # when
        response = http.post(f"{API}/projects", headers=as_user("alice"),
                             json={"project_name": "alpha", "metadata": {"public": "false"}})
        # then
        assert response.status_code == 201
        project = http.get(f"{API}/projects/alpha", headers=as_user("alice"))
        assert project.status_code == 200
        body = project.json()
        assert PROJECT_FIELDS <= set(body)
        assert (body["name"], body["owner_name"], body["owner_id"]) == ("alpha", "alice", alice_id)
        assert body["metadata"]["public"] == "false"
        assert (body["current_user_role_id"], body["current_user_role_ids"]) == (1, [1])
        members = http.get(f"{API}/projects/alpha/members", headers=as_user("alice")).json()
        assert [(m["entity_name"], m["role_id"], m["role_name"]) for m in members] == \
            [("alice", 1, "projectAdmin")]
        assert MEMBER_FIELDS <= set(members[0])

    def test_project_location_names_the_new_project(self, http):
        # when
        response = http.post(f"{API}/projects", json={"project_name": "alpha"})
        # then
        location = response.headers["location"]
        project_id = http.get(f"{API}/projects/alpha").json()["project_id"]
        assert location == f"{API}/projects/{project_id}"
        assert http.get(location).json()["name"] == "alpha"

    def test_project_is_found_by_id_too(self, http):
        create_project(http, "alpha")
        project_id = http.get(f"{API}/projects/alpha").json()["project_id"]
        response = http.get(f"{API}/projects/{project_id}")
        assert response.status_code == 200 and response.json()["name"] == "alpha"

    def test_anonymous_cannot_create_a_project(self, http):
        response = anonymous(http, "POST", f"{API}/projects", json={"project_name": "alpha"})
        assert response.status_code == 401
        assert http.head(f"{API}/projects", params={"project_name": "alpha"}).status_code == 404

    def test_duplicate_project_conflicts(self, http):
        create_project(http, "alpha")
        response = http.post(f"{API}/projects", json={"project_name": "alpha"})
        assert response.status_code == 409
        assert errors(response) == ["CONFLICT"]

    def test_metadata_public_toggles_visibility(self, http):
        # given: a private project, refused to anonymous callers
        create_project(http, "alpha", public=False)
        assert anonymous(http, "GET", f"{API}/projects/alpha").status_code == 401
        # when made public
        response = http.put(f"{API}/projects/alpha", json={"metadata": {"public": "true"}})
        # then
        assert response.status_code == 200
        seen = anonymous(http, "GET", f"{API}/projects/alpha")
        assert seen.status_code == 200 and seen.json()["metadata"]["public"] == "true"
        # when made private again
        assert http.put(f"{API}/projects/alpha", json={"metadata": {"public": "false"}}).status_code == 200
        # then
        assert anonymous(http, "GET", f"{API}/projects/alpha").status_code == 401
        assert http.get(f"{API}/projects/alpha").json()["metadata"]["public"] == "false"

    def test_metadata_public_must_be_true_or_false(self, http):
        create_project(http, "alpha")
        response = http.put(f"{API}/projects/alpha", json={"metadata": {"public": "yes"}})
        assert response.status_code == 400
        assert http.get(f"{API}/projects/alpha").json()["metadata"]["public"] == "false"

    def test_only_a_project_admin_changes_visibility(self, http):
        # given: bob is a developer of alice's project
        create_user(http, "alice")
        create_user(http, "bob")
        create_project(http, "alpha", headers=as_user("alice"))
        add_member(http, "alpha", "bob", 2, headers=as_user("alice"))
        # when
        response = http.put(f"{API}/projects/alpha", headers=as_user("bob"),
                            json={"metadata": {"public": "true"}})
        # then
        assert response.status_code == 403
        assert http.get(f"{API}/projects/alpha").json()["metadata"]["public"] == "false"

    def test_private_project_is_refused_to_non_members_and_anonymous_as_in_harbor(self, http):
        # given
        create_user(http, "alice")
        create_user(http, "bob")
        create_project(http, "alpha", headers=as_user("alice"))
        # then: 403 for a signed-in non-member, 401 for anonymous (ADR 0018, addendum)
        response = http.get(f"{API}/projects/alpha", headers=as_user("bob"))
        assert response.status_code == 403 and errors(response) == ["FORBIDDEN"]
        response = anonymous(http, "GET", f"{API}/projects/alpha")
        assert response.status_code == 401 and errors(response) == ["UNAUTHORIZED"]
        response = http.get(f"{API}/projects/nothere", headers=as_user("bob"))
        assert response.status_code == 404 and errors(response) == ["NOT_FOUND"]
        assert http.get(f"{API}/projects/alpha", headers=as_user("alice")).status_code == 200

    def test_private_project_becomes_visible_to_a_new_member(self, http):
        create_user(http, "alice")
        create_user(http, "bob")
        create_project(http, "alpha", headers=as_user("alice"))
        assert http.get(f"{API}/projects/alpha", headers=as_user("bob")).status_code == 403
        add_member(http, "alpha", "bob", 3, headers=as_user("alice"))
        response = http.get(f"{API}/projects/alpha", headers=as_user("bob"))
        assert response.status_code == 200 and response.json()["current_user_role_id"] == 3

    def test_non_members_list_only_public_projects(self, http):
        # given
        create_user(http, "bob")
        create_project(http, "open", public=True)
        create_project(http, "closed", public=False)
        # when
        as_bob = http.get(f"{API}/projects", headers=as_user("bob"))
        as_nobody = anonymous(http, "GET", f"{API}/projects")
        # then
        for response in (as_bob, as_nobody):
            assert response.status_code == 200
            assert {p["name"] for p in response.json()} == {"library", "open"}
            assert response.headers["x-total-count"] == "2"
        assert {p["name"] for p in http.get(f"{API}/projects").json()} == {"library", "open", "closed"}

    def test_head_tells_whether_a_project_name_is_taken(self, http):
        create_project(http, "alpha")
        assert http.head(f"{API}/projects", params={"project_name": "alpha"}).status_code == 200
        assert http.head(f"{API}/projects", params={"project_name": "beta"}).status_code == 404

    @pytest.mark.parametrize("name", ["Alpha", "has space", "-lead", "trail-", "a/b", "ünï", "x" * 256, ""])
    def test_bad_project_names_are_refused(self, http, name):
        response = http.post(f"{API}/projects", json={"project_name": name})
        assert response.status_code == 400
        assert errors(response) == ["BAD_REQUEST"]
        assert len(http.get(f"{API}/projects").json()) == 1  # library only

    def test_project_with_repositories_cannot_be_deleted(self, http, oci):
        # given
        create_project(http, "alpha")
        oci.push_image("alpha/app", "v1")
        # when
        response = http.delete(f"{API}/projects/alpha")
        # then
        assert response.status_code == 412
        assert errors(response) == ["PRECONDITION"]
        assert http.get(f"{API}/projects/alpha").json()["repo_count"] == 1

    def test_empty_project_is_deleted(self, http):
        create_project(http, "alpha")
        response = http.delete(f"{API}/projects/alpha")
        assert response.status_code == 200
        assert http.get(f"{API}/projects/alpha").status_code == 404
        assert http.head(f"{API}/projects", params={"project_name": "alpha"}).status_code == 404

    def test_a_deleted_projects_name_can_be_used_again(self, http):
        # given
        create_project(http, "alpha")
        assert http.delete(f"{API}/projects/alpha").status_code == 200
        assert http.head(f"{API}/projects", params={"project_name": "alpha"}).status_code == 404
        # when
        response = http.post(f"{API}/projects", json={"project_name": "alpha"})
        # then
        assert response.status_code == 201
        assert http.get(f"{API}/projects/alpha").status_code == 200

    def test_a_developer_cannot_delete_the_project(self, http):
        create_user(http, "bob")
        create_project(http, "alpha")
        add_member(http, "alpha", "bob", 2)
        assert http.delete(f"{API}/projects/alpha", headers=as_user("bob")).status_code == 403
        assert http.get(f"{API}/projects/alpha").status_code == 200

    def test_paged_project_list_has_total_and_links(self, http):
        # given: library plus three more
        for name in ("alpha", "beta", "gamma"):
            create_project(http, name, public=True)
        # when
        first = http.get(f"{API}/projects", params={"page_size": 1})
        second = http.get(f"{API}/projects", params={"page_size": 1, "page": 2})
        last = http.get(f"{API}/projects", params={"page_size": 1, "page": 4})
        # then
        assert [len(r.json()) for r in (first, second, last)] == [1, 1, 1]
        assert {r.headers["x-total-count"] for r in (first, second, last)} == {"4"}
        assert set(link_targets(first)) == {"next"}
        assert set(link_targets(second)) == {"prev", "next"}
        assert set(link_targets(last)) == {"prev"}
        following = http.get(link_targets(first)["next"])
        assert following.json() == second.json()
        names = [http.get(f"{API}/projects", params={"page_size": 1, "page": page}).json()[0]["name"]
                 for page in (1, 2, 3, 4)]
        assert sorted(names) == ["alpha", "beta", "gamma", "library"]

    def test_page_size_over_100_is_refused(self, http):
        assert http.get(f"{API}/projects", params={"page_size": 101}).status_code == 400
