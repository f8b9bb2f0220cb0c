"""Harbor 2.13's extended audit log (/auditlog-exts) and audit log rotation (/system/purgeaudit)."""

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from projections.audit.view import AuditView
from projections.projector import checksum
from projections.rebuild import rebuild
from tests.integration.conftest import basic
from tests.integration.keys_helpers import tidemark

API = "/api/v2.0"
PURGE = f"{API}/system/purgeaudit"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def purge_now(http, hours: int = 24, types: str = "create_artifact,create_tag,pull_artifact",
              dry_run: bool = False):
    return http.post(f"{PURGE}/schedule", json={
        "schedule": {"type": "Manual"},
        "parameters": {"audit_retention_hour": hours, "include_event_types": types, "dry_run": dry_run}})


def a_day_later(registry, monkeypatch) -> None:
    """The purger's clock two days ahead: with a 24-hour retention, every entry so far is old."""
    later = datetime.now(timezone.utc) + timedelta(days=2)
    monkeypatch.setattr(registry.audit_purger, "clock", lambda: later)


def test_extended_entries_have_event_types_descriptions_and_results(http, oci, registry):
    digest, _ = oci.push_image("library/app", "v1")
    assert http.get("/v2/library/app/manifests/v1").status_code == 200
    registry.pulls.flush()
    http.get(f"{API}/users", headers={"authorization": basic("admin", "wrong")})
    registry.sign_ins.flush()
    registry.catch_up()
    response = http.get(f"{API}/auditlog-exts", params={"page_size": 100})
    assert response.status_code == 200 and int(response.headers["x-total-count"]) == len(response.json())
    entries = response.json()
    push = next(e for e in entries if e["event_type"] == "create_artifact")
    assert push["resource"] == f"library/app@{digest}" and push["username"] == "admin"
    assert push["operation"] == "create" and push["operation_result"] is True
    assert push["operation_description"] == f"create artifact library/app@{digest}"
    assert {"id", "resource_type", "op_time"} <= set(push)
    failed = next(e for e in entries if e["operation"] == "login")
    assert failed["operation_result"] is False and failed["event_type"] == "login_user"
    assert [e["event_type"] for e in entries].count("pull_artifact") == 1
    types = [e["event_type"] for e in http.get(f"{API}/auditlog-exts/events").json()]
    assert {"create_artifact", "delete_artifact", "pull_artifact", "create_user", "login_user"} <= set(types)


def test_extended_log_filters_sorts_and_pages_as_harbor(http, oci, registry):
    for tag in ("v1", "v2", "v3"):
        oci.push_image("library/app", tag)
    registry.catch_up()
    tags = http.get(f"{API}/auditlog-exts", params={"q": "event_type=create_tag", "sort": "op_time"}).json()
    assert [e["resource"] for e in tags] == ["library/app:v1", "library/app:v2", "library/app:v3"]
    newest = http.get(f"{API}/auditlog-exts", params={"q": "event_type={create_tag}", "page_size": 2})
    assert [e["resource"] for e in newest.json()] == ["library/app:v3", "library/app:v2"]
    assert newest.headers["x-total-count"] == "3" and 'rel="next"' in newest.headers["link"]
    fuzzy = http.get(f"{API}/auditlog-exts", params={"q": "operation=create,resource=~app:v2"}).json()
    assert [e["resource"] for e in fuzzy] == ["library/app:v2"]
    bad = http.get(f"{API}/auditlog-exts", params={"q": "colour=blue"})
    assert bad.status_code == 400 and "colour" in bad.json()["errors"][0]["message"]
    assert http.get(f"{API}/auditlog-exts", params={"sort": "colour"}).status_code == 400


def test_a_project_log_shows_that_project_only_and_not_to_outsiders(http, oci, registry):
    http.post(f"{API}/projects", json={"project_name": "other", "metadata": {"public": "false"}})
    oci.push_image("library/app", "v1")
    oci.push_image("other/app", "v1")
    http.post(f"{API}/users", json={"username": "fred", "password": "Fred-Passw0rd"})
    registry.catch_up()
    entries = http.get(f"{API}/projects/other/auditlog-exts", params={"page_size": 100}).json()
    assert entries and all(e["resource"].startswith("other") for e in entries)
    fred = {"authorization": basic("fred", "Fred-Passw0rd")}
    assert http.get(f"{API}/projects/other/auditlog-exts", headers=fred).status_code == 403  # Harbor's
    assert http.get(f"{API}/auditlog-exts", headers=fred).status_code == 403


def test_a_manual_purge_trims_old_entries_of_the_given_types_only(http, oci, registry, monkeypatch):
    oci.push_image("library/app", "v1")
    http.post(f"{API}/users", json={"username": "erin", "password": "Erin-Passw0rd"})
    registry.catch_up()
    a_day_later(registry, monkeypatch)
    created = purge_now(http)
    assert created.status_code == 201, created.text
    run = http.get(created.headers["location"].removeprefix("http://registry.test")).json()
    assert run["job_name"] == "PURGE_AUDIT" and run["job_kind"] == "MANUAL" and run["job_status"] == "Success"
    assert run["purged"] == 2 and json.loads(run["job_parameters"])["audit_retention_hour"] == 24
    left = {e["event_type"] for e in http.get(f"{API}/auditlog-exts", params={"page_size": 100}).json()}
    assert "create_user" in left and not left & {"create_artifact", "create_tag"}
    started = http.get(f"{API}/auditlog-exts", params={"q": "event_type=create_purge_audit"}).json()
    assert [(e["username"], e["resource"]) for e in started] == [
        ("admin", "create_artifact,create_tag,pull_artifact older than 24 hours")]
    history = http.get(PURGE)
    assert history.headers["x-total-count"] == "1" and history.json()[0]["id"] == run["id"]
    assert http.get(PURGE, params={"q": "job_status=Error"}).json() == []
    assert http.get(PURGE, params={"q": "job_kind=MANUAL"}).json()[0]["id"] == run["id"]
    assert http.get(PURGE, params={"q": "colour=blue"}).status_code == 400
    log = http.get(f"{PURGE}/{run['id']}/log")
    assert log.status_code == 200 and "trimmed 2 audit entries" in log.text and "event log is untouched" in log.text
    assert http.put(f"{PURGE}/{run['id']}").status_code == 200  # already ended: stays as it was
    assert http.get(f"{PURGE}/{run['id']}").json()["job_status"] == "Success"


def test_recent_entries_and_dry_runs_are_kept(http, oci, registry, monkeypatch):
    oci.push_image("library/app", "v1")
    registry.catch_up()
    assert purge_now(http).status_code == 201  # nothing is a day old yet
    a_day_later(registry, monkeypatch)
    dry = purge_now(http, dry_run=True)
    run = http.get(dry.headers["location"].removeprefix("http://registry.test")).json()
    assert run["purged"] == 2 and "would trim 2" in http.get(f"{PURGE}/{run['id']}/log").text
    kept = http.get(f"{API}/auditlog-exts", params={"q": "event_type={create_artifact create_tag}"}).json()
    assert len(kept) == 2


def test_trimmed_entries_stay_trimmed_after_a_rebuild_and_stay_in_the_event_log(
        http, oci, registry, monkeypatch, settings):
    digest, _ = oci.push_image("library/app", "v1")
    registry.catch_up()
    a_day_later(registry, monkeypatch)
    assert purge_now(http, types="create").status_code == 201
    oci.push_image("library/app", "v2")  # after the purge: kept
    registry.catch_up()
    live_view = next(p for p in registry.projectors if p.name == "audit")
    live = checksum(registry.db, "audit_", AuditView.tables)
    assert rebuild(registry.app, registry.db, AuditView, live_view) == live
    resources = [e["resource"] for e in http.get(f"{API}/auditlog-exts", params={"page_size": 100}).json()]
    assert "library/app:v2" in resources and "library/app:v1" not in resources
    # the event log still has the trimmed push, for `tidemark events export`
    env = {"TIDEMARK_DATABASE_URL": settings.database_url} if settings.database_url else {}
    exported = tidemark(Path(settings.data_dir), "events", "export", env=env)
    assert exported.returncode == 0, exported.stderr
    events = [json.loads(line) for line in exported.stdout.splitlines()]
    assert any(digest in json.dumps(e) and "Pushed" in json.dumps(e) for e in events)


def test_a_schedule_is_set_shown_changed_and_removed(http):
    assert http.get(f"{PURGE}/schedule").json()["schedule"] is None
    body = {"schedule": {"type": "Daily"},
            "parameters": {"audit_retention_hour": 168, "include_event_types": "pull_artifact,create",
                           "dry_run": False}}
    assert http.post(f"{PURGE}/schedule", json=body).status_code == 201
    shown = http.get(f"{PURGE}/schedule").json()
    assert shown["schedule"]["type"] == "Daily" and shown["schedule"]["cron"] == "0 0 0 * * *"
    assert json.loads(shown["job_parameters"]) == {"audit_retention_hour": 168,
                                                   "include_event_types": "create,pull_artifact",
                                                   "dry_run": False}
    assert http.post(f"{PURGE}/schedule", json=body).status_code == 409
    changed = {**body, "schedule": {"type": "Custom", "cron": "0 30 2 * * 1"}}
    assert http.put(f"{PURGE}/schedule", json=changed).status_code == 200
    assert http.get(f"{PURGE}/schedule").json()["schedule"]["cron"] == "0 30 2 * * 1"
    assert http.put(f"{PURGE}/schedule", json={"schedule": {"type": "None"}}).status_code == 200
    assert http.get(f"{PURGE}/schedule").json()["schedule"] is None


def test_a_scheduled_purge_runs_once_at_its_tick(http, oci, registry, monkeypatch):
    from workers.audit_purge import AuditPurgeScheduler

    oci.push_image("library/app", "v1")
    registry.catch_up()
    body = {"schedule": {"type": "Hourly"},
            "parameters": {"audit_retention_hour": 24, "include_event_types": "create_tag"}}
    assert http.post(f"{PURGE}/schedule", json=body).status_code == 201
    later = datetime.now(timezone.utc) + timedelta(days=2)
    a_day_later(registry, monkeypatch)
    scheduler = AuditPurgeScheduler(registry, clock=lambda: later)
    assert scheduler.tick() is not None
    assert AuditPurgeScheduler(registry, clock=lambda: later).tick() is None  # that tick is done
    runs = http.get(PURGE).json()
    assert len(runs) == 1 and runs[0]["job_kind"] == "SCHEDULE" and runs[0]["purged"] == 1


@pytest.mark.parametrize("parameters, field", [
    ({}, "parameters.audit_retention_hour"),
    ({"audit_retention_hour": 0}, "parameters.audit_retention_hour"),
    ({"audit_retention_hour": "24"}, "parameters.audit_retention_hour"),
    ({"audit_retention_hour": 24, "include_event_types": "explode_everything"}, "include_event_types"),
    ({"audit_retention_hour": 24, "dry_run": "yes"}, "parameters.dry_run"),
])
def test_bad_purge_parameters_answer_400_and_record_nothing(http, parameters, field):
    response = http.post(f"{PURGE}/schedule", json={"schedule": {"type": "Manual"}, "parameters": parameters})
    assert response.status_code == 400 and field in response.text
    assert http.get(PURGE).headers["x-total-count"] == "0"
    assert http.get(f"{PURGE}/12345").status_code == 404
    assert http.put(f"{PURGE}/12345").status_code == 404


def test_only_administrators_purge(http):
    http.post(f"{API}/users", json={"username": "fred", "password": "Fred-Passw0rd"})
    fred = {"authorization": basic("fred", "Fred-Passw0rd")}
    body = {"schedule": {"type": "Manual"}, "parameters": {"audit_retention_hour": 1}}
    assert http.post(f"{PURGE}/schedule", json=body, headers=fred).status_code == 403
    assert http.get(PURGE, headers=fred).status_code == 403
    assert http.get(PURGE).headers["x-total-count"] == "0"


def test_the_api_description_says_a_purge_never_touches_the_event_log(http):
    paths = http.get(f"{API}/openapi.json").json()["paths"]
    for method, operation in paths[f"{PURGE}/schedule"].items():
        assert "never touches the event log" in operation["description"], method
