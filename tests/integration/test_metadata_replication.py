"""Metadata replication from this Tidemark to a second one, a real `tidemark serve` process:
a policy whose resource filter is `metadata` ships projects (members, metadata), robots,
immutability rules and retention policies; a second run resumes from what the destination
acknowledged; a project the destination changed itself is a conflict the task reports; an
event-based policy follows the log."""

import re

import httpx
import pytest

from tests import processes
from tests.e2e.conftest import ADMIN_PASSWORD, start_tidemark
from tests.integration.retention_flows import RETENTIONS, policy, project_id, rule
from tests.integration.servers import free_port
from tests.integration.webhook_receivers import wait_until

API = "/api/v2.0"


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture
def there(second):
    with httpx.Client(base_url=f"http://{second.host}", auth=("admin", ADMIN_PASSWORD), timeout=30) as client:
        yield client


def created_id(response) -> int:
    assert response.status_code == 201, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def metadata_policy(http, second, name: str, projects: str, trigger: str = "manual") -> int:
    registry_id = created_id(http.post(f"{API}/registries", json={
        "name": f"second-{name}", "url": f"http://{second.host}", "type": "harbor",
        "credential": {"type": "basic", "access_key": "admin", "access_secret": ADMIN_PASSWORD}}))
    return created_id(http.post(f"{API}/replication/policies", json={
        "name": name, "dest_registry": {"id": registry_id}, "trigger": {"type": trigger},
        "filters": [{"type": "name", "value": projects}, {"type": "resource", "value": "metadata"}],
        "retry_attempts": 2, "retry_backoff_seconds": 0.1}))


def run(http, policy_id: int) -> tuple[dict, dict, str]:
    execution_id = created_id(http.post(f"{API}/replication/executions", json={"policy_id": policy_id}))
    execution = wait_until(lambda: (lambda e: e if e["status"] != "Running" else None)(
        http.get(f"{API}/replication/executions/{execution_id}").json()), 60)
    tasks = http.get(f"{API}/replication/executions/{execution_id}/tasks").json()
    assert len(tasks) == 1 and tasks[0]["resource_type"] == "metadata", tasks
    log = http.get(f"{API}/replication/executions/{execution_id}/tasks/{tasks[0]['id']}/log").text
    return execution, tasks[0], log


def make_project(http, name: str) -> None:
    assert http.post(f"{API}/projects", json={"project_name": name, "metadata": {"public": "false"}}).status_code == 201


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])  # the sending side
def test_projects_members_robots_and_policies_arrive_and_a_second_run_resumes(http, there, second, backend):
    team = f"team{backend[:2]}"
    make_project(http, f"{team}-red")
    make_project(http, f"elsewhere{backend[:2]}")
    assert http.post(f"{API}/users", json={"username": "rita", "password": "Rita-Passw0rd", "email": "r@x.io"}
                     ).status_code == 201
    assert http.post(f"{API}/projects/{team}-red/members", json={"role_id": 2, "member_user": {"username": "rita"}}
                     ).status_code == 201
    assert http.put(f"{API}/projects/{team}-red", json={"metadata": {"auto_scan": "true"}}).status_code == 200
    immutable = {"disabled": False, "action": "immutable", "template": "immutable_template",
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "v*"}],
            "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]}}
    assert http.post(f"{API}/projects/{team}-red/immutabletagrules", json=immutable).status_code == 201
    created = http.post(RETENTIONS, json=policy(project_id(http, f"{team}-red"), rule("latestPushedK", {"latestPushedK": 3}),
                                               kind="Manual"))
    assert created.status_code == 201, created.text
    robot = http.post(f"{API}/robots", json={"name": "ci", "level": "project", "duration": -1, "permissions": [
        {"kind": "project", "namespace": f"{team}-red", "access": [{"resource": "repository", "action": "pull"},
                                                                 {"resource": "repository", "action": "list"}]}]})
    assert robot.status_code == 201, robot.text
    robot_auth = (robot.json()["name"], robot.json()["secret"])
    policy_id = metadata_policy(http, second, f"meta-{backend}", f"{team}-*")

    execution, task, first_log = run(http, policy_id)
    assert execution["status"] == "Success", (execution, first_log)
    project = there.get(f"{API}/projects/{team}-red")
    assert project.status_code == 200 and project.json()["metadata"]["auto_scan"] == "true"
    assert project.json()["metadata"]["public"] == "false"
    assert there.get(f"{API}/projects/elsewhere{backend[:2]}").status_code == 404  # the name filter selects projects
    rules = there.get(f"{API}/projects/{team}-red/immutabletagrules").json()
    assert [r["tag_selectors"][0]["pattern"] for r in rules] == ["v*"]
    # The retention policy is there, bound to that side's id of the project.
    red = there.get(f"{API}/projects/{team}-red").json()
    retention = there.get(f"{RETENTIONS}/{red['metadata']['retention_id']}")
    assert retention.status_code == 200, retention.text
    assert retention.json()["scope"]["ref"] == red["project_id"]
    assert retention.json()["rules"][0]["params"] == {"latestPushedK": 3}
    # The robot signs in there with the secret it has here.
    assert there.get(f"{API}/projects/{team}-red/repositories", auth=robot_auth).status_code == 200
    assert there.get(f"{API}/projects/{team}-red/repositories", auth=(robot_auth[0], "Wrong-Secret-1")).status_code == 401

    # Changes after the first run: only they travel in the second.
    assert http.put(f"{API}/projects/{team}-red", json={"metadata": {"public": "true"}}).status_code == 200
    make_project(http, f"{team}-blue")
    execution, task, log = run(http, policy_id)
    assert execution["status"] == "Success", (execution, log)
    assert "acknowledged this policy's events up to" in log
    first = int(re.search(r"Success: (\d+) events applied", first_log).group(1))
    again = int(re.search(r"Success: (\d+) events applied, 0 already there", log).group(1))
    assert 2 <= again <= 3 < first, log  # the visibility change, team-blue (and its owner): nothing sent twice
    assert there.get(f"{API}/projects/{team}-red").json()["metadata"]["public"] == "true"
    assert there.get(f"{API}/projects/{team}-blue").status_code == 200
    assert there.get(f"{API}/projects/{team}-red/members").status_code == 200


def test_a_project_changed_at_the_destination_is_a_reported_conflict(http, there, second):
    make_project(http, "crew-one")
    make_project(http, "crew-two")
    assert there.post(f"{API}/projects", json={"project_name": "crew-two", "metadata": {"public": "true"}}
                      ).status_code == 201
    policy_id = metadata_policy(http, second, "crew", "crew-*")
    execution, task, log = run(http, policy_id)
    assert execution["status"] == "Error", execution
    assert "conflict" in log and "project crew-two" in log, log
    assert there.get(f"{API}/projects/crew-one").status_code == 200  # the rest went through
    assert there.get(f"{API}/projects/crew-two").json()["metadata"]["public"] == "true"  # theirs, untouched
    sources = there.get(f"{API}/replication/metadata/sources").json()
    assert any(s["conflict_count"] >= 1 and {c["stream"] for c in s["conflicts"]} == {"project crew-two"}
               for s in sources), sources


def test_an_event_based_policy_follows_the_log(http, there, second):
    metadata_policy(http, second, "live", "live-*", trigger="event_based")
    make_project(http, "live-one")
    wait_until(lambda: there.get(f"{API}/projects/live-one").status_code == 200, 30)
    assert http.put(f"{API}/projects/live-one", json={"metadata": {"severity": "high"}}).status_code == 200
    wait_until(lambda: there.get(f"{API}/projects/live-one").json()["metadata"].get("severity") == "high", 30)
    assert http.delete(f"{API}/projects/live-one").status_code == 200
    wait_until(lambda: there.get(f"{API}/projects/live-one").status_code == 404, 30)


def test_changes_made_while_the_destination_is_down_arrive_once_it_is_back(http, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("metadata-down")  # not the test's own: this registry's data is there
    port = free_port()
    down = start_tidemark(tmp_path, port, tmp_path / "data")
    try:
        metadata_policy(http, down, "later", "late-*", trigger="event_based")
        processes.stop(down.process)
        make_project(http, "late-one")
        assert http.put(f"{API}/projects/late-one", json={"metadata": {"public": "true"}}).status_code == 200
        down = start_tidemark(tmp_path, port, tmp_path / "data")
        with httpx.Client(base_url=f"http://{down.host}", auth=("admin", ADMIN_PASSWORD), timeout=30) as back:
            try:
                wait_until(lambda: back.get(f"{API}/projects/late-one").status_code == 200 and
                           back.get(f"{API}/projects/late-one").json()["metadata"]["public"] == "true", 30)
            except AssertionError:
                executions = http.get(f"{API}/replication/executions").json()
                logs = [http.get(f"{API}/replication/executions/{e['id']}/tasks").json() for e in executions]
                raise AssertionError((executions, logs))
            sources = back.get(f"{API}/replication/metadata/sources").json()
            assert len(sources) == 1 and sources[0]["skipped"] == 0 and sources[0]["conflict_count"] == 0, sources
    finally:
        processes.stop(down.process)


def test_metadata_policies_are_checked(http, second):
    registry_id = created_id(http.post(f"{API}/registries", json={"name": "plain", "url": "http://127.0.0.1:9",
                                                                 "type": "docker-registry"}))
    base = {"name": "bad", "dest_registry": {"id": registry_id}, "trigger": {"type": "manual"}}
    metadata = {"type": "resource", "value": "metadata"}
    refused = http.post(f"{API}/replication/policies", json={**base, "filters": [metadata]})
    assert refused.status_code == 400 and "Tidemark" in refused.text
    tidemark = created_id(http.post(f"{API}/registries", json={"name": "tm", "url": f"http://{second.host}",
                                                               "type": "harbor"}))
    for extra in ({"filters": [metadata, {"type": "tag", "value": "v*"}]},
                  {"filters": [metadata], "dest_namespace": "other"}):
        answer = http.post(f"{API}/replication/policies", json={**base, "dest_registry": {"id": tidemark}, **extra})
        assert answer.status_code == 400 and "metadata" in answer.text, answer.text


def test_a_webhook_policy_arrives_and_the_destination_delivers_with_its_header(http, there, second):
    """The policy's auth header travels opened in the batch only, is sealed there with the
    destination's key, and is the one the destination sends when its own pushes fire it."""
    import json

    from infra.replication.distribution import RegistryClient
    from tests.integration.oci_client import OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, descriptor, sha256
    from tests.integration.webhook_receivers import Receiver

    make_project(http, "hooks-one")
    with Receiver() as receiver:
        created = http.post(f"{API}/projects/hooks-one/webhook/policies", json={
            "name": "ci", "event_types": ["PUSH_ARTIFACT"], "enabled": True,
            "targets": [{"type": "http", "address": receiver.url, "auth_header": "Bearer e2e-hook-secret"}]})
        assert created.status_code == 201, created.text
        policy_id = metadata_policy(http, second, "hooks", "hooks-*")
        execution, task, log = run(http, policy_id)
        assert execution["status"] == "Success", (execution, log)
        policies = there.get(f"{API}/projects/hooks-one/webhook/policies").json()
        assert [(p["name"], p["enabled"], p["targets"][0]["auth_header"]) for p in policies] == [("ci", True, "******")]
        assert policies[0]["project_id"] == there.get(f"{API}/projects/hooks-one").json()["project_id"]
        config, layer = json.dumps({"os": "linux"}).encode(), b"a layer pushed at the destination"
        manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, config),
                               "layers": [descriptor(OCI_LAYER, layer)]}).encode()
        with RegistryClient(f"http://{second.host}", username="admin", password=ADMIN_PASSWORD) as client:
            for data in (config, layer):
                client.push_blob("hooks-one/app", sha256(data), len(data), lambda offset, data=data: [data[offset:]])
            client.put_manifest("hooks-one/app", "v1", manifest, OCI_MANIFEST)
        delivered = receiver.wait_for(1, 30)
        assert delivered[0].headers.get("Authorization") == "Bearer e2e-hook-secret"
        assert delivered[0].json()["type"] == "PUSH_ARTIFACT"
        # A change at the source follows: the destination's copy is disabled too.
        policies_here = http.get(f"{API}/projects/hooks-one/webhook/policies").json()
        assert http.put(f"{API}/projects/hooks-one/webhook/policies/{policies_here[0]['id']}", json={
            **{k: policies_here[0][k] for k in ("name", "event_types", "targets")}, "enabled": False}).status_code == 200
        execution, task, log = run(http, policy_id)
        assert execution["status"] == "Success", (execution, log)
        assert [p["enabled"] for p in there.get(f"{API}/projects/hooks-one/webhook/policies").json()] == [False]


def test_a_group_membership_arrives_on_the_destinations_group_of_that_name(http, there, second):
    make_project(http, "groups-one")
    assert there.post(f"{API}/usergroups", json={"group_name": "unrelated", "group_type": 3}).status_code == 201
    created = http.post(f"{API}/usergroups", json={"group_name": "ops", "group_type": 3})
    assert created.status_code == 201, created.text
    group_id = int(created.headers["location"].rsplit("/", 1)[1])
    assert http.post(f"{API}/projects/groups-one/members", json={"role_id": 2, "member_group": {"id": group_id}}
                     ).status_code == 201
    policy_id = metadata_policy(http, second, "groups", "groups-*")
    execution, task, log = run(http, policy_id)
    assert execution["status"] == "Success", (execution, log)
    ops = [g for g in there.get(f"{API}/usergroups", params={"page_size": 100}).json() if g["group_name"] == "ops"]
    assert len(ops) == 1 and ops[0]["group_type"] == 3
    members = [m for m in there.get(f"{API}/projects/groups-one/members").json() if m["entity_type"] == "g"]
    assert [(m["entity_name"], m["entity_id"], m["role_id"]) for m in members] == [("ops", ops[0]["id"], 2)]
    # Later changes follow: the membership removed here is removed there.
    mid = [m for m in http.get(f"{API}/projects/groups-one/members").json() if m["entity_type"] == "g"][0]["id"]
    assert http.delete(f"{API}/projects/groups-one/members/{mid}").status_code == 200
    execution, task, log = run(http, policy_id)
    assert execution["status"] == "Success", (execution, log)
    assert [m for m in there.get(f"{API}/projects/groups-one/members").json() if m["entity_type"] == "g"] == []
