"""The authorization holes found from outside, each tried again: refused, and nothing stored."""

import pytest

from domain.base import Actor
from domain.project import Project, project_id
from domain.iam.roles import PROJECT_ADMIN
from tests.integration.conftest import basic
from tests.integration.retention_flows import policy, rule

API = "/api/v2.0"


@pytest.fixture
def backend():
    return "sqlite"


def _user(http, name: str) -> tuple[dict, int]:
    secret = f"{name.capitalize()}-Passw0rd1"
    response = http.post(f"{API}/users", json={"username": name, "password": secret,
                                              "email": f"{name}@example.com"})
    assert response.status_code == 201, response.text
    return {"authorization": basic(name, secret)}, int(response.headers["location"].rsplit("/", 1)[1])


def _robot(http, level: str, permissions: list, name: str = "bot") -> tuple[dict, int]:
    response = http.post(f"{API}/robots", json={"name": name, "level": level, "permissions": permissions})
    assert response.status_code == 201, response.text
    body = response.json()
    return {"authorization": basic(body["name"], body["secret"])}, body["id"]


def test_a_system_robot_holding_user_list_is_no_administrator(http, registry):
    # given: a system robot that may only list users, and a user it would like to take over
    bot, bot_id = _robot(http, "system", [{"kind": "system", "namespace": "/",
                                            "access": [{"resource": "user", "action": "list"}]}])
    _, victim_id = _user(http, "victim")
    head = registry.app.head()
    # then: it lists users, as its permission says ...
    assert http.get(f"{API}/users", headers=bot).status_code == 200
    # ... and nothing else an administrator may do
    attempts = [
        http.post(f"{API}/users", headers=bot, json={"username": "mine", "password": "Mine-Passw0rd1",
                                                     "email": "m@example.com"}),
        http.put(f"{API}/users/{victim_id}/sysadmin", headers=bot, json={"sysadmin_flag": True}),
        http.put(f"{API}/users/{victim_id}/password", headers=bot, json={"new_password": "Taken-Passw0rd1"}),
        http.put(f"{API}/users/{victim_id}/enabled", headers=bot, json={"enabled": False}),
        http.put(f"{API}/robots/{bot_id}", headers=bot, json={
            "name": "bot", "level": "system", "permissions": [
                {"kind": "project", "namespace": "*", "access": [{"resource": "repository", "action": "push"},
                                                                 {"resource": "repository", "action": "pull"}]}]}),
        http.post(f"{API}/robots", headers=bot, json={"name": "other", "level": "system", "permissions": [
            {"kind": "system", "namespace": "/", "access": [{"resource": "user", "action": "list"}]}]}),
        http.put(f"{API}/system/gc/schedule", headers=bot, json={"schedule": {"type": "None"}}),
        http.get(f"{API}/audit-logs", headers=bot),
    ]
    assert [r.status_code for r in attempts] == [403] * len(attempts)
    assert registry.app.head() == head  # a refused request records nothing
    assert http.get(f"{API}/users/{victim_id}").json()["sysadmin_flag"] is False


def test_a_project_robot_works_through_the_rest_api_within_its_permissions(http, oci):
    assert http.post(f"{API}/projects", json={"project_name": "ci", "metadata": {"public": "false"}}).status_code == 201
    assert http.post(f"{API}/projects", json={"project_name": "other"}).status_code == 201
    digest, _ = oci.push_image("ci/app", "v1")
    oci.push_image("other/app", "v1")
    bot, _ = _robot(http, "project", [{"kind": "project", "namespace": "ci", "access": [
        {"resource": r, "action": a} for r, a in (("repository", "list"), ("repository", "pull"),
                                                  ("artifact", "read"), ("artifact", "list"),
                                                  ("tag", "list"), ("tag", "create"))]}])
    repos = http.get(f"{API}/projects/ci/repositories", headers=bot)
    assert repos.status_code == 200 and [r["name"] for r in repos.json()] == ["ci/app"]
    artifacts = http.get(f"{API}/projects/ci/repositories/app/artifacts", headers=bot)
    assert artifacts.status_code == 200 and artifacts.json()[0]["digest"] == digest
    assert http.post(f"{API}/projects/ci/repositories/app/artifacts/v1/tags", headers=bot,
                     json={"name": "release"}).status_code == 201
    assert http.get("/v2/ci/app/manifests/release").headers["docker-content-digest"] == digest
    # beyond its permissions, or in another project: refused
    assert http.delete(f"{API}/projects/ci/repositories/app/artifacts/v1", headers=bot).status_code == 403
    assert http.get(f"{API}/projects/ci/members", headers=bot).status_code == 403
    assert http.get(f"{API}/projects/other/repositories", headers=bot).status_code == 403


def test_a_project_cannot_be_named_like_a_project_id(http):
    response = http.post(f"{API}/projects", json={"project_name": "12"})
    assert response.status_code == 400 and "digits" in response.json()["errors"][0]["message"]


def test_a_retention_policy_is_found_by_its_stored_project_id_never_as_a_name(http, oci, registry):
    # given: a private project of one user, with a retention policy that would delete everything
    owner, _ = _user(http, "owner")
    mallory, _ = _user(http, "mallory")
    assert http.post(f"{API}/projects", headers=owner, json={"project_name": "victim"}).status_code == 201
    victim_id = http.get(f"{API}/projects/victim").json()["project_id"]
    oci.push_image("victim/app", "v1")
    created = http.post(f"{API}/retentions", headers=owner,
                        json=policy(victim_id, rule("nDaysSinceLastPull", {"nDaysSinceLastPull": 0})))
    assert created.status_code == 201, created.text
    url = created.headers["location"]
    # and a project named like the victim's id, owned by the attacker (made before names like
    # that were refused: written straight into the log)
    legacy = Project._create(Project.Created, id=project_id(str(victim_id)), name=str(victim_id), public=False,
                             **Actor(name="mallory").fields())
    legacy.add_member("mallory", PROJECT_ADMIN, Actor(name="mallory"))
    registry.app.save(legacy)
    registry.catch_up()
    as_name = {**mallory, "x-is-resource-name": "true"}
    head = registry.app.head()
    # when / then: the policy and its runs stay the victim's (refused: mallory is no member)
    assert http.get(url, headers=as_name).status_code == 403
    assert http.get(f"{url}/executions", headers=as_name).status_code == 403
    assert http.post(f"{url}/executions", headers=as_name, json={"dry_run": False}).status_code == 403
    assert registry.app.head() == head
    assert http.get("/v2/victim/app/manifests/v1").status_code == 200


@pytest.mark.parametrize("path", ["/projects/library", "/projects/library/members", "/projects/library/summary",
                                  "/projects/library/immutabletagrules", "/projects/library/webhook/policies"])
def test_a_name_sent_as_an_id_is_a_bad_request(http, path):
    response = http.get(API + path, headers={"x-is-resource-name": "false"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "BAD_REQUEST"


def test_the_resource_name_header_must_be_true_or_false(http):
    assert http.get(f"{API}/projects/library", headers={"x-is-resource-name": "maybe"}).status_code == 400


def test_permissions_of_a_private_project_are_not_shown_to_those_who_cannot_see_it(http):
    outsider, _ = _user(http, "outsider")
    assert http.post(f"{API}/projects", json={"project_name": "secret"}).status_code == 201
    response = http.get(f"{API}/users/current/permissions", headers=outsider,
                        params={"scope": "/project/secret"})
    assert response.status_code == 404


@pytest.mark.parametrize("text", ["evil\u202egnp.exe", "zero\u200bwidth", "bell\x07", "line\u2028sep"])
def test_names_and_labels_refuse_control_and_invisible_characters(http, registry, text):
    head = registry.app.head()
    attempts = [
        http.post(f"{API}/users", json={"username": text, "password": "Some-Passw0rd1", "email": "x@example.com"}),
        http.post(f"{API}/users", json={"username": "plain", "password": "Some-Passw0rd1",
                                        "email": "x@example.com", "realname": text}),
        http.post(f"{API}/labels", json={"name": text, "scope": "g"}),
        http.post(f"{API}/labels", json={"name": "ok", "scope": "g", "description": text}),
        http.put(f"{API}/projects/library/repositories/app", json={"description": text}),
        http.post(f"{API}/robots", json={"name": "bot", "level": "system", "description": text, "permissions": [
            {"kind": "system", "namespace": "/", "access": [{"resource": "user", "action": "list"}]}]}),
        http.post(f"{API}/projects/library/webhook/policies", json={
            "name": text, "event_types": ["PUSH_ARTIFACT"],
            "targets": [{"type": "http", "address": "http://127.0.0.1:9/x"}]}),
    ]
    statuses = [r.status_code for r in attempts]
    assert statuses[:4] == [400] * 4 and statuses[5:] == [400, 400], [r.text for r in attempts]
    assert statuses[4] in (400, 404)  # no such repository yet: refused either way
    assert registry.app.head() == head


def test_free_text_keeps_tabs_and_line_feeds(http):
    created = http.post(f"{API}/labels", json={"name": "ok", "scope": "g", "description": "two\nlines\tand a tab"})
    assert created.status_code == 201
