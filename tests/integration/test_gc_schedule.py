"""Scheduled garbage collection: Harbor's schedule route, and runs started at their tick."""

from datetime import datetime, timedelta, timezone

import msgspec
import pytest

from tests.integration.conftest import basic
from workers.gc_scheduler import GcScheduler

SCHEDULE = "/api/v2.0/system/gc/schedule"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def settings(settings):
    return msgspec.structs.replace(settings, gc_grace_seconds=0, gc_history_window_seconds=0)


def stored(registry) -> set[str]:
    return {digest for digest, _, _ in registry.blobs.list_blobs()}


def test_a_daily_schedule_is_shown_with_its_next_run_and_can_be_removed(http, registry):
    assert http.get(SCHEDULE).json()["schedule"] is None
    created = http.post(SCHEDULE, json={"schedule": {"type": "Daily"},
                                         "parameters": {"delete_untagged": True}})
    assert created.status_code == 201, created.text
    shown = http.get(SCHEDULE).json()
    assert shown["schedule"]["type"] == "Daily" and shown["schedule"]["cron"] == "0 0 0 * * *"
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
    assert shown["schedule"]["next_scheduled_time"] == tomorrow
    assert shown["job_parameters"] == '{"dry_run": false, "delete_untagged": true}'
    # a second POST is a conflict; PUT changes it, and type None removes it
    assert http.post(SCHEDULE, json={"schedule": {"type": "Hourly"}}).status_code == 409
    assert http.put(SCHEDULE, json={"schedule": {"type": "Custom", "cron": "0 30 2 * * 1"}}).status_code == 200
    assert http.get(SCHEDULE).json()["schedule"]["cron"] == "0 30 2 * * 1"
    assert http.put(SCHEDULE, json={"schedule": {"type": "None"}}).status_code == 200
    assert http.get(SCHEDULE).json()["schedule"] is None
    # every change is an event: in the feed, and in the audit log with who made it
    feed = http.get("/api/v2.0/events", params={"limit": 1000}).json()
    events = feed["events"] if isinstance(feed, dict) else feed
    assert [e["type"] for e in events if ".gc." in e["type"]] == [
        "io.tidemark.gc.schedule_set.v1", "io.tidemark.gc.schedule_set.v1",
        "io.tidemark.gc.schedule_cleared.v1"]
    registry.catch_up()
    logs = http.get("/api/v2.0/audit-logs", params={"q": "resource_type=gc_schedule"}).json()
    assert [(l["operation"], l["username"]) for l in logs] == [
        ("delete", "admin"), ("update", "admin"), ("create", "admin")]


def test_bad_schedules_are_refused_and_record_nothing(http, registry):
    head = registry.app.head()
    for body, field in [({"schedule": {"type": "Custom", "cron": "every day"}}, "schedule.cron"),
                        ({"schedule": {"type": "Custom"}}, "schedule.cron"),
                        ({"schedule": {"type": "Monthly"}}, "schedule.type"),
                        ({"schedule": {"type": "Daily"}, "parameters": {"dry_run": 1}}, "parameters.dry_run"),
                        ({"schedule": "Daily"}, "schedule")]:
        response = http.put(SCHEDULE, json=body)
        assert response.status_code == 400, (body, response.text)
        assert field in response.text
    assert http.put(SCHEDULE, json={"schedule": {"type": "Manual"}}).status_code == 400
    assert registry.app.head() == head


def test_only_admins_see_or_set_the_schedule(http, registry):
    assert http.post("/api/v2.0/users", json={"username": "dev", "password": "Dev-Passw0rd"}).status_code == 201
    as_dev = {"authorization": basic("dev", "Dev-Passw0rd")}
    assert http.get(SCHEDULE, headers=as_dev).status_code == 403
    assert http.put(SCHEDULE, json={"schedule": {"type": "Daily"}}, headers=as_dev).status_code == 403


def test_the_scheduler_runs_a_due_tick_once_and_the_run_says_it_was_scheduled(http, oci, registry):
    digest, _ = oci.push_image("library/app", "v1")
    manifest = http.get(f"/v2/library/app/manifests/{digest}").json()
    assert http.delete(f"/v2/library/app/manifests/{digest}").status_code == 202
    assert http.post(SCHEDULE, json={"schedule": {"type": "Hourly"}}).status_code == 201
    now = datetime.now(timezone.utc)
    scheduler = GcScheduler(registry, clock=lambda: now)
    assert scheduler.tick() is None  # the next hour has not come

    later = now + timedelta(hours=2, minutes=1)
    run_id = scheduler.tick(later)
    assert run_id is not None
    assert scheduler.tick(later) is None  # that tick is done
    assert GcScheduler(registry).tick(later) is None  # and another scheduler sees it too
    assert not {digest, manifest["config"]["digest"]} & stored(registry)

    [run] = http.get("/api/v2.0/system/gc").json()
    tick = later.replace(minute=0, second=0, microsecond=0)
    assert run["job_kind"] == "SCHEDULE" and run["job_status"] == "Success"
    assert run["scheduled_for"] == tick.isoformat()
    assert scheduler.tick(tick + timedelta(hours=1)) is not None  # the next hour runs again


def test_a_manual_run_is_listed_as_manual(http, registry):
    run_id = registry.collector.run(dry_run=True, delete_untagged=False)
    [run] = http.get("/api/v2.0/system/gc").json()
    assert run["run_id"] == run_id and run["job_kind"] == "MANUAL" and "scheduled_for" not in run
