"""Harbor's job-service and schedule views answer from Tidemark's followers and schedulers
(issue 13, section 5; ADR 0029)."""

import pytest

from tests.integration.conftest import basic
from tests.integration.retention_flows import create_policy, execute, rule

API = "/api/v2.0"
JS = f"{API}/jobservice"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def test_the_pool_of_this_process_lists_its_followers_with_position_and_lag(http, oci, registry):
    oci.push_image("library/app", "v1")
    pools = http.get(f"{JS}/pools").json()
    here = pools[0]
    assert here["worker_pool_id"].endswith(f":{here['pid']}") and here["concurrency"] > 0
    workers = http.get(f"{JS}/pools/{here['worker_pool_id']}/workers").json()
    by_id = {w["id"]: w for w in workers}
    assert {"oci", "audit", "gc-scheduler", "retention-scheduler"} <= set(by_id)
    assert by_id["oci"]["pool_id"] == here["worker_pool_id"] and by_id["oci"]["state"] == "following"
    registry.catch_up()
    oci_row = next(w for w in http.get(f"{JS}/pools/all/workers").json() if w["id"] == "oci")
    assert oci_row["position"] >= registry.app.head() - 1 and oci_row["check_in"].startswith("following")


def test_an_unknown_pool_is_404(http):
    response = http.get(f"{JS}/pools/nosuch:1/workers")
    assert response.status_code == 404 and response.json()["errors"][0]["code"] == "NOT_FOUND"


def test_each_follower_is_a_queue_counting_the_events_it_has_not_handled(http, oci, registry):
    oci.push_image("library/app", "v1")
    registry.catch_up()
    queues = {q["job_type"]: q for q in http.get(f"{JS}/queues").json()}
    assert {"oci", "audit", "iam", "gc", "retention"} <= set(queues)
    assert queues["oci"]["count"] == 0 and queues["oci"]["latency"] == 0
    assert all(q["paused"] is False for q in queues.values())


def test_queue_actions_are_refused_with_the_reason(http):
    stop = http.put(f"{JS}/queues/audit", json={"action": "stop"})
    assert stop.status_code == 422 and "never drops" in stop.json()["errors"][0]["message"]
    assert http.put(f"{JS}/queues/all", json={"action": "pause"}).status_code == 422
    assert http.put(f"{JS}/queues/nosuch", json={"action": "pause"}).status_code == 404
    assert http.put(f"{JS}/queues/audit", json={"action": "explode"}).status_code == 400


def test_schedules_list_gc_and_retention_with_their_state(http, oci, registry):
    assert http.get(f"{API}/schedules").json() == []
    assert http.post(f"{API}/system/gc/schedule", json={"schedule": {"type": "Daily"}}).status_code == 201
    url = create_policy(http, rule("always"), cron="0 0 * * * *")
    listed = http.get(f"{API}/schedules")
    assert listed.headers["x-total-count"] == "2"
    tasks = {t["vendor_type"]: t for t in listed.json()}
    assert tasks["GARBAGE_COLLECTION"]["cron"] == "0 0 0 * * *"
    assert tasks["GARBAGE_COLLECTION"]["state"] == "waiting" and tasks["GARBAGE_COLLECTION"]["lag_seconds"] == 0
    assert tasks["RETENTION"]["vendor_id"] == int(url.rsplit("/", 1)[1])
    assert len({t["id"] for t in tasks.values()}) == 2
    assert http.get(f"{API}/schedules").json() == listed.json()  # ids are stable
    page = http.get(f"{API}/schedules", params={"page": 2, "page_size": 1})
    assert len(page.json()) == 1 and 'rel="prev"' in page.headers["link"]
    assert http.get(f"{API}/schedules/all/paused").json() == {"paused": False}
    assert http.get(f"{API}/schedules/RETENTION/paused").json() == {"paused": False}
    assert http.get(f"{API}/schedules/NOSUCH/paused").status_code == 404


def test_a_job_log_is_the_log_of_a_gc_run_or_a_retention_execution(http, oci, registry):
    started = http.post(f"{API}/system/gc/schedule", json={"schedule": {"type": "Manual"}})
    gc_id = started.headers["location"].rsplit("/", 1)[1]
    registry.catch_up()
    log = http.get(f"{JS}/jobs/gc-{gc_id}/log")
    assert log.status_code == 200 and "garbage collection" in log.text
    oci.push_image("library/app", "v1")
    url = create_policy(http, rule("always"))
    execution = execute(http, registry, url, dry_run=True)
    retention = http.get(f"{JS}/jobs/retention-{execution['id']}/log")
    assert retention.status_code == 200 and "library/app" in retention.text
    for unknown in ("gc-999999", "nosuch-1", "gc-x", "retention-99999"):
        assert http.get(f"{JS}/jobs/{unknown}/log").status_code == 404, unknown


def test_only_system_administrators_see_the_job_service(http):
    http.post(f"{API}/users", json={"username": "dave", "password": "Dave-Passw0rd", "email": "d@example.com"})
    dave = {"authorization": basic("dave", "Dave-Passw0rd")}
    for path in (f"{JS}/pools", f"{JS}/queues", f"{API}/schedules", f"{JS}/pools/all/workers"):
        assert http.get(path, headers=dave).status_code == 403, path
        assert http.get(path, headers={"authorization": ""}).status_code == 401, path


def test_pausing_the_scheduler_queue_pauses_every_schedule_until_resumed(http, oci, registry):
    from datetime import datetime, timedelta, timezone

    from workers.gc_scheduler import GcScheduler
    from workers.retention_scheduler import RetentionScheduler

    assert http.post(f"{API}/system/gc/schedule", json={"schedule": {"type": "Hourly"}}).status_code == 201
    create_policy(http, rule("always"), cron="0 0 * * * *")
    head = registry.app.head()
    assert http.put(f"{JS}/queues/SCHEDULER", json={"action": "resume"}).status_code == 200  # never paused
    assert registry.app.head() == head
    assert http.put(f"{JS}/queues/SCHEDULER", json={"action": "pause"}).status_code == 200
    assert http.get(f"{API}/schedules/all/paused").json() == {"paused": True}
    assert {t["state"] for t in http.get(f"{API}/schedules").json()} == {"paused"}
    scheduler = {q["job_type"]: q for q in http.get(f"{JS}/queues").json()}["SCHEDULER"]
    assert scheduler["paused"] is True
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    assert GcScheduler(registry).tick(later) is None
    assert RetentionScheduler(registry).tick(later, background=False) == []
    assert http.put(f"{JS}/queues/SCHEDULER", json={"action": "stop"}).status_code == 422
    assert http.put(f"{JS}/queues/SCHEDULER", json={"action": "resume"}).status_code == 200
    assert http.get(f"{API}/schedules/all/paused").json() == {"paused": False}
    assert GcScheduler(registry).tick(later) is not None  # the missed ticks run once
    kinds = [e["type"] for e in http.get(f"{API}/events", params={"after": head}).json()
             if ".schedules." in e["type"]]
    assert kinds == ["io.tidemark.schedules.paused.v1", "io.tidemark.schedules.resumed.v1"]


def test_others_may_not_pause_the_schedules(http, registry):
    http.post(f"{API}/users", json={"username": "dave", "password": "Dave-Passw0rd", "email": "d@example.com"})
    head = registry.app.head()
    refused = http.put(f"{JS}/queues/SCHEDULER", json={"action": "pause"},
                       headers={"authorization": basic("dave", "Dave-Passw0rd")})
    assert refused.status_code == 403 and registry.app.head() == head
    assert http.get(f"{API}/schedules/all/paused").json() == {"paused": False}


def test_the_audit_purge_schedule_is_listed_with_the_others(http):
    body = {"schedule": {"type": "Custom", "cron": "0 30 2 * * 1"},
            "parameters": {"audit_retention_hour": 24, "include_event_types": "pull_artifact", "dry_run": True}}
    assert http.post(f"{API}/system/purgeaudit/schedule", json=body).status_code == 201
    [task] = http.get(f"{API}/schedules").json()
    assert (task["vendor_type"], task["cron"], task["state"]) == ("PURGE_AUDIT_LOG", "0 30 2 * * 1", "waiting")
