"""Registry endpoints, replication policies and executions through the REST API, on SQLite and
PostgreSQL: Harbor's shapes, secrets that never leave, the checks on input, and an execution
against a registry that is not there ending Error with its reason."""

import pytest

from tests.integration.conftest import basic
from tests.integration.webhook_receivers import wait_until

API = "/api/v2.0"
SECRET = "s3cret-Value-9f8e"
UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def created_id(response) -> int:
    assert response.status_code == 201, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def add_registry(http, name="dest", url=UNREACHABLE, **more) -> int:
    body = {"name": name, "url": url, "type": "docker-registry",
            "credential": {"type": "basic", "access_key": "robot", "access_secret": SECRET}, **more}
    return created_id(http.post(f"{API}/registries", json=body))


def push_policy(registry_id: int, name="p", **more) -> dict:
    return {"name": name, "dest_registry": {"id": registry_id}, "src_registry": {"id": 0},
            "trigger": {"type": "manual"}, "filters": [{"type": "name", "value": "library/**"}],
            "retry_attempts": 1, "retry_backoff_seconds": 0, **more}


def test_registry_answers_in_harbor_shape_and_never_shows_the_secret(http, registry):
    registry_id = add_registry(http, description="the backup site")
    answer = http.get(f"{API}/registries/{registry_id}").json()
    assert answer["name"] == "dest" and answer["url"] == UNREACHABLE and answer["type"] == "docker-registry"
    assert answer["credential"] == {"type": "basic", "access_key": "robot", "access_secret": "*****"}
    assert answer["status"] == "unhealthy" and answer["insecure"] is False
    listed = http.get(f"{API}/registries")
    assert listed.headers["x-total-count"] == "1" and listed.json()[0]["id"] == registry_id
    # the secret is sealed in the log, and kept when the registry is edited without it
    stored = b"".join(n.state for n in registry.app.recorder.select_notifications(start=1, limit=100_000))
    assert SECRET.encode() not in stored
    response = http.put(f"{API}/registries/{registry_id}", json={"description": "moved", "access_secret": "*****"})
    assert response.status_code == 200, response.text
    item = registry.replication.current().registries[registry_id]
    assert registry.replication.secret(item) == SECRET and item["description"] == "moved"
    assert http.get(f"{API}/registries", params={"name": "nope"}).json() == []


@pytest.mark.parametrize("body, field", [
    ({"name": "x", "url": "http://169.254.169.254/"}, "url"),
    ({"name": "x", "url": "ftp://example.com"}, "url"),
    ({"name": "x", "url": "http://example.com", "type": "aws-ecr"}, "type"),
    ({"name": "x", "url": "http://example.com", "type": "nope"}, "type"),
    ({"name": "", "url": "http://example.com"}, "name"),
    ({"name": "x", "url": "http://user:pw@example.com"}, "url"),
])
def test_bad_registries_are_refused_naming_the_field(http, body, field):
    response = http.post(f"{API}/registries", json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()["errors"][0]["message"]
    assert http.get(f"{API}/registries").json() == []


def test_names_are_unique_and_a_used_registry_cannot_go(http):
    registry_id = add_registry(http)
    assert http.post(f"{API}/registries", json={"name": "dest", "url": "http://example.com"}).status_code == 409
    policy_id = created_id(http.post(f"{API}/replication/policies", json=push_policy(registry_id)))
    response = http.delete(f"{API}/registries/{registry_id}")
    assert response.status_code == 412 and "p" in response.json()["errors"][0]["message"]
    assert http.delete(f"{API}/replication/policies/{policy_id}").status_code == 200
    assert http.delete(f"{API}/registries/{registry_id}").status_code == 200
    assert http.get(f"{API}/registries/{registry_id}").status_code == 404
    assert http.get(f"{API}/registries/{registry_id}/info").status_code == 404


def test_adapters_list_the_supported_kinds(http):
    adapters = http.get(f"{API}/replication/adapters").json()
    assert "docker-registry" in adapters and "harbor" in adapters and "aws-ecr" not in adapters
    infos = http.get(f"{API}/replication/adapterinfos").json()
    assert infos["docker-hub"]["endpoint_pattern"]["endpoints"][0]["value"] == "https://registry-1.docker.io"


def test_ping_reports_what_is_wrong(http):
    response = http.post(f"{API}/registries/ping", json={"type": "docker-registry", "url": UNREACHABLE})
    assert response.status_code == 400 and "ping" in response.json()["errors"][0]["message"]
    registry_id = add_registry(http)
    response = http.post(f"{API}/registries/ping", json={"id": registry_id})
    assert response.status_code == 400
    assert SECRET not in response.text
    assert http.post(f"{API}/registries/ping", json={"id": 999}).status_code == 404


def test_policies_in_harbor_shape(http):
    registry_id = add_registry(http)
    body = push_policy(registry_id, trigger={"type": "scheduled", "trigger_settings": {"cron": "0 0 3 * * *"}},
                       dest_namespace="mirror", deletion=True, speed=512)
    policy_id = created_id(http.post(f"{API}/replication/policies", json=body))
    answer = http.get(f"{API}/replication/policies/{policy_id}").json()
    assert answer["src_registry"]["id"] == 0 and answer["src_registry"]["name"] == "Local"
    assert answer["dest_registry"]["id"] == registry_id
    assert answer["dest_registry"]["credential"]["access_secret"] == "*****"
    assert answer["trigger"] == {"type": "scheduled", "trigger_settings": {"cron": "0 0 3 * * *"}}
    assert answer["replicate_deletion"] is True and answer["speed"] == 512 and answer["dest_namespace"] == "mirror"
    assert answer["filters"][0]["type"] == "name" and answer["filters"][0]["value"] == "library/**"
    assert http.post(f"{API}/replication/policies", json=push_policy(registry_id)).status_code == 409
    changed = http.put(f"{API}/replication/policies/{policy_id}", json={**body, "enabled": False})
    assert changed.status_code == 200, changed.text
    assert http.get(f"{API}/replication/policies/{policy_id}").json()["enabled"] is False
    assert [p["id"] for p in http.get(f"{API}/replication/policies", params={"name": "p"}).json()] == [policy_id]


@pytest.mark.parametrize("change, field", [
    ({"dest_registry": {"id": 0}}, "dest_registry"),
    ({"dest_registry": {"id": 77}}, "dest_registry"),
    ({"trigger": {"type": "scheduled", "trigger_settings": {"cron": "every day"}}}, "cron"),
    ({"trigger": {"type": "sometimes"}}, "trigger"),
    ({"filters": [{"type": "name", "value": "a"}, {"type": "name", "value": "b"}]}, "filters"),
    ({"filters": [{"type": "tag", "value": "(", "kind": "regex"}]}, "filters"),
    ({"filters": [{"type": "resource", "value": "chart"}]}, "filters"),
    ({"dest_namespace": "Bad Name"}, "dest_namespace"),
    ({"retry_attempts": 0}, "retry_attempts"),
])
def test_bad_policies_are_refused_naming_the_field(http, change, field):
    registry_id = add_registry(http)
    response = http.post(f"{API}/replication/policies", json={**push_policy(registry_id), **change})
    assert response.status_code == 400, response.text
    assert field in response.json()["errors"][0]["message"]
    assert http.get(f"{API}/replication/policies").json() == []


def test_a_label_filter_on_a_pull_needs_a_harbor_source(http):
    registry_id = add_registry(http)
    refused = http.post(f"{API}/replication/policies", json={
        "name": "labels", "src_registry": {"id": registry_id}, "dest_registry": {"id": 0},
        "trigger": {"type": "manual"}, "filters": [{"type": "label", "value": ["approved"]}]})
    assert refused.status_code == 400 and "harbor" in refused.text, refused.text


def test_a_pull_policy_is_not_event_based_and_nothing_replicates_into_itself(http):
    remote = add_registry(http)
    pull = {"name": "pull", "src_registry": {"id": remote}, "dest_registry": {"id": 0},
            "trigger": {"type": "event_based"}}
    response = http.post(f"{API}/replication/policies", json=pull)
    assert response.status_code == 400 and "event_based" in response.text
    itself = add_registry(http, name="me", url="http://registry.test")
    response = http.post(f"{API}/replication/policies", json=push_policy(itself))
    assert response.status_code == 400 and "itself" in response.json()["errors"][0]["message"]


def test_an_execution_against_an_absent_registry_ends_error_with_its_reason(http, oci):
    oci.push_image("library/app", "v1")
    registry_id = add_registry(http)
    policy_id = created_id(http.post(f"{API}/replication/policies", json=push_policy(registry_id)))
    execution_id = created_id(http.post(f"{API}/replication/executions", json={"policy_id": policy_id}))
    done = wait_until(lambda: (lambda e: e if e["status"] != "Running" else None)(
        http.get(f"{API}/replication/executions/{execution_id}").json()), 30)
    assert done["status"] == "Error" and done["trigger"] == "manual" and done["policy_id"] == policy_id
    assert done["total"] == 1 and done["failed"] == 1 and done["succeed"] == 0
    tasks = http.get(f"{API}/replication/executions/{execution_id}/tasks").json()
    assert tasks[0]["status"] == "Error" and tasks[0]["src_resource"] == "library/app:[v1]"
    assert tasks[0]["operation"] == "copy"
    log = http.get(f"{API}/replication/executions/{execution_id}/tasks/{tasks[0]['id']}/log")
    assert log.status_code == 200 and "127.0.0.1:9" in log.text and SECRET not in log.text
    listed = http.get(f"{API}/replication/executions", params={"policy_id": policy_id})
    assert [e["id"] for e in listed.json()] == [execution_id]
    assert http.get(f"{API}/replication/executions/{execution_id + 10_000}").status_code == 404
    # a task id of another execution is not this execution's
    assert http.get(f"{API}/replication/executions/{execution_id}/tasks/{execution_id}/log").status_code == 404


def test_a_stopped_execution_stops(http, registry):
    registry_id = add_registry(http)
    policy_id = created_id(http.post(f"{API}/replication/policies", json=push_policy(registry_id)))
    registry.replication_worker.request_stop()  # nothing runs it: it stays Running until stopped
    execution_id = created_id(http.post(f"{API}/replication/executions", json={"policy_id": policy_id}))
    assert http.get(f"{API}/replication/executions/{execution_id}").json()["status"] == "Running"
    assert http.put(f"{API}/replication/executions/{execution_id}").status_code == 200
    assert http.get(f"{API}/replication/executions/{execution_id}").json()["status"] == "Stopped"
    assert http.put(f"{API}/replication/executions/{execution_id}").status_code == 409


def test_others_may_not_touch_replication(http):
    registry_id = add_registry(http)
    response = http.post(f"{API}/users", json={"username": "eve", "password": "Eve-Passw0rd", "email": "e@x.io"})
    assert response.status_code == 201, response.text
    eve = {"authorization": basic("eve", "Eve-Passw0rd")}
    assert http.get(f"{API}/registries", headers=eve).status_code == 403
    assert http.post(f"{API}/registries", headers=eve, json={"name": "e", "url": "http://e.io"}).status_code == 403
    assert http.post(f"{API}/replication/policies", headers=eve, json=push_policy(registry_id)).status_code == 403
    assert len(http.get(f"{API}/registries").json()) == 1


def test_a_scheduled_policy_runs_on_its_ticks_and_a_disabled_one_does_not(http):
    registry_id = add_registry(http)
    every_second = {"type": "scheduled", "trigger_settings": {"cron": "* * * * * *"}}
    policy_id = created_id(http.post(f"{API}/replication/policies", json=push_policy(registry_id, trigger=every_second)))
    idle = created_id(http.post(f"{API}/replication/policies", json=push_policy(
        registry_id, name="idle", trigger=every_second, enabled=False)))
    found = wait_until(lambda: http.get(f"{API}/replication/executions", params={"policy_id": policy_id}).json(), 30)
    assert found[0]["trigger"] == "scheduled"
    assert http.get(f"{API}/replication/executions", params={"policy_id": idle}).json() == []


def test_a_system_robot_runs_policies_it_was_granted_and_cannot_redirect_them(http):
    registry_id = add_registry(http)
    policy_id = created_id(http.post(f"{API}/replication/policies", json=push_policy(registry_id)))
    access = [{"resource": r, "action": a} for r, a in (("replication", "create"), ("replication", "read"),
                                                        ("replication-policy", "read"))]
    response = http.post(f"{API}/robots", json={"name": "runner", "level": "system", "duration": -1,
                                                "permissions": [{"kind": "system", "namespace": "/", "access": access}]})
    assert response.status_code == 201, response.text
    robot = {"authorization": basic(response.json()["name"], response.json()["secret"])}
    started = http.post(f"{API}/replication/executions", headers=robot, json={"policy_id": policy_id})
    assert started.status_code == 201, started.text
    assert http.get(f"{API}/replication/policies/{policy_id}", headers=robot).status_code == 200
    changed = http.put(f"{API}/replication/policies/{policy_id}", headers=robot,
                       json=push_policy(registry_id, dest_namespace="elsewhere"))
    assert changed.status_code == 403
    assert http.post(f"{API}/registries", headers=robot, json={"name": "evil", "url": "http://e.io"}).status_code == 403
    refused = http.post(f"{API}/robots", json={"name": "greedy", "level": "system", "duration": -1, "permissions": [
        {"kind": "system", "namespace": "/", "access": [{"resource": "registry", "action": "create"}]}]})
    assert refused.status_code == 400
    assert http.get(f"{API}/replication/policies/{policy_id}").json()["dest_namespace"] == ""


def test_a_destination_that_does_not_answer_is_not_pinged_on_every_round(http, oci, registry):
    """Wrong credentials tried four times a second would trip the destination's sign-in
    throttle: after a failed ping the follower waits before asking again."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    pings = []

    class Refusing(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            pings.append(self.path)
            self.send_response(503)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        registry_id = add_registry(http, url=f"http://127.0.0.1:{server.server_address[1]}")
        created_id(http.post(f"{API}/replication/policies", json=push_policy(
            registry_id, trigger={"type": "event_based"}, filters=[{"type": "name", "value": "library/**"}])))
        oci.push_image("library/app", "v1")
        follower = registry.replication_worker.follower
        for _ in range(5):
            follower.poll()
        assert 1 <= len([p for p in pings if p.startswith("/v2/")]) <= 2, pings  # 5 without the wait
    finally:
        server.shutdown()
