"""Robot accounts through the Harbor v2.0 REST API: creating them, what they may hold,
and their secrets on /v2/ (the Docker token service: test_iam_tokens.py)."""

import time
from datetime import datetime
from types import SimpleNamespace

import pytest

import domain.iam.access
from tests.integration.iam_helpers import (
    API, IamTests, add_member, anonymous, as_user, create_project, create_user, errors, robot_body,
    token_for,
)

DAY = 86400
UPLOADS = "/v2/alpha/x/blobs/uploads/"


@pytest.fixture
def backend():
    return "sqlite"


class TestRobots(IamTests):
    @pytest.fixture
    def alpha(self, http, oci):
        """Private project `alpha` administered by alice, holding alpha/app:v1."""
        create_user(http, "alice")
        create_project(http, "alpha", headers=as_user("alice"))
        oci.push_image("alpha/app", "v1")

    @pytest.fixture
    def robot(self, http, alpha) -> dict:
        """alice's pull-only robot in alpha: the RobotCreated body."""
        response = http.post(f"{API}/robots", headers=as_user("alice"), json=robot_body("alpha"))
        assert response.status_code == 201, response.text
        return response.json()

    def test_permissions_lists_what_a_robot_may_hold(self, http):
        response = http.get(f"{API}/permissions")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"system", "project"}
        assert {"resource": "repository", "action": "pull"} in body["project"]
        assert {"resource": "repository", "action": "push"} in body["project"]
        assert {"resource": "member", "action": "create"} not in body["project"]
        assert {"resource": "catalog", "action": "read"} in body["system"]
        assert all(set(p) == {"resource", "action"} for p in body["system"] + body["project"])
        assert anonymous(http, "GET", f"{API}/permissions").status_code == 401

    def test_project_robot_is_created_with_its_secret_shown_once(self, http, alpha):
        # when
        before = int(time.time())
        response = http.post(f"{API}/robots", headers=as_user("alice"), json=robot_body("alpha"))
        # then
        assert response.status_code == 201
        body = response.json()
        assert set(body) >= {"id", "name", "secret", "creation_time", "expires_at"}
        assert body["name"] == "robot$alpha+ci"
        assert isinstance(body["id"], int) and body["secret"]
        assert body["expires_at"] == -1
        assert datetime.fromisoformat(body["creation_time"]).timestamp() >= before - 1
        assert response.headers["location"] == f"{API}/robots/{body['id']}"
        fetched = http.get(f"{API}/robots/{body['id']}", headers=as_user("alice"))
        assert fetched.status_code == 200
        robot = fetched.json()
        assert "secret" not in robot and body["secret"] not in fetched.text
        assert (robot["id"], robot["name"], robot["level"], robot["disable"], robot["duration"]) == \
            (body["id"], "robot$alpha+ci", "project", False, -1)
        assert robot["permissions"] == [{"kind": "project", "namespace": "alpha", "access": [
            {"resource": "repository", "action": "pull", "effect": "allow"}]}]

    def test_robot_list_never_shows_secrets(self, http, robot):
        project_id = http.get(f"{API}/projects/alpha").json()["project_id"]
        response = http.get(f"{API}/robots", headers=as_user("alice"),
                            params={"q": f"Level=project,ProjectID={project_id}"})
        assert response.status_code == 200
        assert [r["name"] for r in response.json()] == ["robot$alpha+ci"]
        assert robot["secret"] not in response.text and '"secret"' not in response.text

    def test_pull_robot_pulls_but_cannot_push(self, http, robot):
        # given
        creds = as_user(robot["name"], robot["secret"])
        # then: pull-type requests work
        assert http.get("/v2/", headers=creds).status_code == 200
        assert http.get("/v2/alpha/app/manifests/v1", headers=creds).status_code == 200
        assert http.get("/v2/alpha/app/tags/list", headers=creds).json()["tags"] == ["v1"]
        # and a push is denied
        refused = http.post(UPLOADS, headers=creds)
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["code"] == "DENIED"

    def test_robot_cannot_reach_another_private_project(self, http, oci, robot):
        create_project(http, "beta")
        oci.push_image("beta/app", "v1")
        creds = as_user(robot["name"], robot["secret"])
        assert http.get("/v2/beta/app/manifests/v1", headers=creds).status_code == 403

    def test_robot_has_no_user_profile(self, http, robot):
        response = http.get(f"{API}/users/current", headers=as_user(robot["name"], robot["secret"]))
        assert response.status_code == 403

    def test_refreshed_secret_works(self, http, robot):
        # when
        response = http.patch(f"{API}/robots/{robot['id']}", headers=as_user("alice"), json={})
        # then
        assert response.status_code == 200
        new = response.json()["secret"]
        assert new and new != robot["secret"]
        assert http.get("/v2/alpha/app/tags/list", headers=as_user(robot["name"], new)).status_code == 200
        assert "secret" not in http.get(f"{API}/robots/{robot['id']}").json()

    def test_refreshed_secret_of_an_unused_robot_replaces_the_old_one(self, http, robot):
        http.patch(f"{API}/robots/{robot['id']}", headers=as_user("alice"), json={})
        old = http.get("/v2/alpha/app/tags/list", headers=as_user(robot["name"], robot["secret"]))
        assert old.status_code == 401

    def test_old_secret_stops_working_after_a_refresh(self, http, robot):
        # given: the robot has been pulling with its secret
        old = as_user(robot["name"], robot["secret"])
        assert http.get("/v2/alpha/app/tags/list", headers=old).status_code == 200
        # when
        assert http.patch(f"{API}/robots/{robot['id']}", headers=as_user("alice"), json={}).status_code == 200
        # then
        assert http.get("/v2/alpha/app/tags/list", headers=old).status_code == 401

    def test_refresh_with_a_chosen_secret(self, http, robot):
        response = http.patch(f"{API}/robots/{robot['id']}", headers=as_user("alice"),
                              json={"secret": "Chosen-Secret1"})
        assert response.status_code == 200 and response.json() == {"secret": "Chosen-Secret1"}
        assert http.get("/v2/alpha/app/tags/list",
                        headers=as_user(robot["name"], "Chosen-Secret1")).status_code == 200
        weak = http.patch(f"{API}/robots/{robot['id']}", headers=as_user("alice"), json={"secret": "weak"})
        assert weak.status_code == 400

    def test_disabled_robot_is_refused(self, http, robot):
        # given: the robot has been pulling
        creds = as_user(robot["name"], robot["secret"])
        assert http.get("/v2/alpha/app/tags/list", headers=creds).status_code == 200
        # when
        response = http.put(f"{API}/robots/{robot['id']}", headers=as_user("alice"),
                            json=robot_body("alpha", disable=True))
        # then
        assert response.status_code == 200
        assert http.get(f"{API}/robots/{robot['id']}").json()["disable"] is True
        assert http.get("/v2/alpha/app/tags/list", headers=creds).status_code == 401
        assert token_for(http, "repository:alpha/app:pull", headers=creds).status_code == 401

    def test_robot_with_a_duration_expires_after_that_many_days(self, http, alpha, monkeypatch):
        # given
        before = int(time.time())
        response = http.post(f"{API}/robots", headers=as_user("alice"),
                             json=robot_body("alpha", name="brief", duration=1))
        after = int(time.time())
        assert response.status_code == 201
        created = response.json()
        # then: it expires a day from now
        assert before + DAY <= created["expires_at"] <= after + DAY
        assert http.get(f"{API}/robots/{created['id']}").json()["expires_at"] == created["expires_at"]
        creds = as_user(created["name"], created["secret"])
        assert http.get("/v2/alpha/app/tags/list", headers=creds).status_code == 200
        # when the day has passed (as the access rules see the clock)
        later = created["expires_at"] + 1
        monkeypatch.setattr(domain.iam.access, "time", SimpleNamespace(time=lambda: later))
        # then
        assert http.get("/v2/alpha/app/tags/list", headers=creds).status_code == 401
        assert token_for(http, "repository:alpha/app:pull", headers=creds).status_code == 401

    # 0 is Harbor's "the system default" (robot_token_duration): test_configuration_effects.py
    @pytest.mark.parametrize("duration", [-2, 36501])
    def test_bad_durations_are_refused(self, http, alpha, duration):
        response = http.post(f"{API}/robots", headers=as_user("alice"),
                             json=robot_body("alpha", duration=duration))
        assert response.status_code == 400

    @pytest.mark.parametrize("access", [[("member", "create")], [("user", "list")],
                                        [("repository", "pull"), ("robot", "create")],
                                        [("repository", "fly")]])
    def test_permission_outside_the_robot_matrix_is_refused(self, http, alpha, access):
        # when
        response = http.post(f"{API}/robots", headers=as_user("alice"),
                             json=robot_body("alpha", access=access))
        # then
        assert response.status_code == 400
        assert errors(response) == ["BAD_REQUEST"]
        assert http.get(f"{API}/robots").json() == []

    def test_project_robot_cannot_name_two_projects(self, http, alpha):
        create_project(http, "beta", headers=as_user("alice"))
        body = robot_body("alpha")
        body["permissions"].append({"kind": "project", "namespace": "beta",
                                    "access": [{"resource": "repository", "action": "pull"}]})
        response = http.post(f"{API}/robots", headers=as_user("alice"), json=body)
        assert response.status_code == 400
        assert http.get(f"{API}/robots").json() == []

    def test_project_robot_cannot_hold_every_project(self, http, alpha):
        # `*` names no project: refused as a bad request or as an unknown project
        response = http.post(f"{API}/robots", json=robot_body("*"))
        assert response.status_code in (400, 404)
        assert http.get(f"{API}/robots").json() == []

    def test_project_admin_cannot_make_a_robot_in_another_users_project(self, http, alpha):
        # given: beta belongs to bob; alice is no member
        create_user(http, "bob")
        create_project(http, "beta", headers=as_user("bob"))
        # when
        response = http.post(f"{API}/robots", headers=as_user("alice"), json=robot_body("beta"))
        # then: refused, as for any private project she is no member of
        assert response.status_code == 403
        assert http.get(f"{API}/robots").json() == []

    def test_a_developer_cannot_create_robots(self, http, alpha):
        create_user(http, "bob")
        add_member(http, "alpha", "bob", 2, headers=as_user("alice"))
        response = http.post(f"{API}/robots", headers=as_user("bob"), json=robot_body("alpha"))
        assert response.status_code == 403

    def test_duplicate_robot_name_conflicts(self, http, robot):
        response = http.post(f"{API}/robots", headers=as_user("alice"), json=robot_body("alpha"))
        assert response.status_code == 409

    def test_a_deleted_robots_name_can_be_used_again(self, http, robot):
        # given
        assert http.delete(f"{API}/robots/{robot['id']}", headers=as_user("alice")).status_code == 200
        # when
        response = http.post(f"{API}/robots", headers=as_user("alice"), json=robot_body("alpha"))
        # then
        assert response.status_code == 201
        assert response.json()["name"] == "robot$alpha+ci"

    def test_deleted_robot_is_gone_and_refused(self, http, robot):
        creds = as_user(robot["name"], robot["secret"])
        assert http.delete(f"{API}/robots/{robot['id']}", headers=as_user("alice")).status_code == 200
        assert http.get(f"{API}/robots/{robot['id']}").status_code == 404
        assert http.get("/v2/alpha/app/tags/list", headers=creds).status_code == 401
