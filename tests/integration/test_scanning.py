"""Scanner registrations and scan runs through HTTP, against a scanner adapter on loopback
whose answers each test chooses (tests/integration/fake_scanner.py)."""

import msgspec
import pytest

from tests.integration.conftest import basic
from tests.integration.fake_scanner import FakeScanner
from tests.integration.webhook_receivers import wait_until

API = "/api/v2.0"
REPORT_TYPE = "application/vnd.security.vulnerability.report; version=1.1"
SCANNERS = API + "/scanners"
SECRET = "Very-Secret-Adapter-Key-42"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def settings(settings):
    return msgspec.structs.replace(settings, scan_attempts=2, scan_retry_base_seconds=0.01,
                                   scan_timeout_seconds=30.0, scan_refresh_max_seconds=0.05)


def register(http, url: str, name: str = "Fake", **extra) -> str:
    response = http.post(SCANNERS, json={"name": name, "url": url, **extra})
    assert response.status_code == 201, response.text
    return response.headers["location"].rsplit("/", 1)[1]


def scan(http, repo: str = "p1/app", ref: str = "v1", **body):
    project, name = repo.split("/", 1)
    return http.post(f"{API}/projects/{project}/repositories/{name}/artifacts/{ref}/scan", json=body or None)


def finished(registry, repo: str, digest: str):
    def done():
        row = registry.scan_runs.latest(repo, digest, 1, "vulnerability")
        return row if row is not None and row.status not in ("Pending", "Running") else None
    return wait_until(done, 20)


def project(http, name: str) -> None:
    assert http.post(f"{API}/projects", json={"project_name": name}).status_code == 201


def test_registrations_are_named_once_keep_their_credential_secret_and_keep_a_default(http, registry):
    first = register(http, "http://127.0.0.1:9", "One", auth="X-ScannerAdapter-API-Key",
                     access_credential=SECRET)
    second = register(http, "https://scanner.example:8443/", "Two")
    listed = http.get(SCANNERS)
    assert listed.headers["x-total-count"] == "2"
    body = listed.json()
    assert [(r["name"], r["is_default"]) for r in body] == [("One", True), ("Two", False)]
    assert body[0]["access_credential"] == "******" and body[1]["url"] == "https://scanner.example:8443"
    assert http.post(SCANNERS, json={"name": "One", "url": "http://x"}).status_code == 409
    for bad in ({"name": "Bad", "url": "ftp://x"}, {"name": "Bad", "url": "http://u:p@x"},
                {"name": "", "url": "http://x"}, {"name": "Bad", "url": "http://x", "auth": "Magic"},
                {"name": "Bad", "url": "http://x", "auth": "Bearer"}):
        answer = http.post(SCANNERS, json=bad)
        assert answer.status_code == 400, (bad, answer.text)
        assert answer.json()["errors"][0]["code"] == "BAD_REQUEST"
    # the default cannot go; another one can; a new default is kept
    assert http.delete(f"{SCANNERS}/{first}").status_code == 403
    assert http.patch(f"{SCANNERS}/{second}", json={"is_default": True}).status_code == 200
    assert http.get(f"{SCANNERS}/{second}").json()["is_default"] is True
    # a PUT without the credential keeps it; the credential is in no event in clear
    assert http.put(f"{SCANNERS}/{first}", json={"name": "One", "url": "http://127.0.0.1:9",
                                                 "auth": "X-ScannerAdapter-API-Key"}).status_code == 200
    item = registry.scanners.current().items[first]
    assert registry.scanners.credential(item) == SECRET
    stored = b"".join(n.state for n in registry.app.recorder.select_notifications(start=1, limit=100_000))
    assert SECRET.encode() not in stored
    deleted = http.delete(f"{SCANNERS}/{first}")
    assert deleted.status_code == 200 and deleted.json()["name"] == "One"
    assert http.get(f"{SCANNERS}/{first}").status_code == 404


def test_a_scan_is_sent_with_a_pull_token_for_that_repository_only_and_its_report_recorded(http, registry, oci):
    project(http, "p1")
    project(http, "p2")
    digest, _ = oci.push_image("p1/app", "v1")
    other, _ = oci.push_image("p2/other", "v1")
    with FakeScanner("ok", pending_polls=2, api_key=SECRET) as fake:
        register(http, fake.url, auth="X-ScannerAdapter-API-Key", access_credential=SECRET)
        assert http.get(f"{API}/projects/p1/scanner").json()["name"] == "Fake"
        assert scan(http).status_code == 202
        row = finished(registry, "p1/app", digest)
        assert row.status == "Success", row.reason
        assert row.summary["total"] == 2 and row.summary["fixable"] == 1
        assert row.summary["summary"] == {"Critical": 1, "Low": 1}
        sent = fake.requests[0]
        assert sent["artifact"]["repository"] == "p1/app" and sent["artifact"]["digest"] == digest
        assert sent["registry"]["url"] == "http://registry.test"
        token = sent["registry"]["authorization"].removeprefix("Bearer ")
        assert all(h.get("X-ScannerAdapter-API-Key") == SECRET for h in fake.headers)
    bearer = {"authorization": f"Bearer {token}"}
    assert http.get(f"/v2/p1/app/manifests/{digest}", headers=bearer).status_code == 200
    assert http.get(f"/v2/p2/other/manifests/{other}", headers=bearer).status_code == 401
    assert http.post("/v2/p1/app/blobs/uploads/", headers=bearer).status_code == 401
    # the REST API does not take it either
    assert http.get(f"{API}/projects/p1", headers=bearer).status_code == 401
    log = http.get(f"{API}/projects/p1/repositories/app/artifacts/v1/scan/{row.scan_key}/log")
    assert log.status_code == 200 and "2 vulnerabilities" in log.text
    # another project's artifact does not show this report
    assert http.get(f"{API}/projects/p2/repositories/other/artifacts/v1/scan/{row.scan_key}/log").status_code == 404


def test_a_second_request_while_running_is_a_conflict_and_stop_ends_it(http, registry, oci):
    project(http, "p1")
    digest, _ = oci.push_image("p1/app", "v1")
    with FakeScanner("forever") as fake:
        register(http, fake.url)
        assert scan(http).status_code == 202
        wait_until(lambda: fake.polls, 20)
        again = scan(http)
        assert again.status_code == 409, again.text
        assert http.post(f"{API}/projects/p1/repositories/app/artifacts/v1/scan/stop",
                         json={"scan_type": "vulnerability"}).status_code == 202
        assert finished(registry, "p1/app", digest).status == "Stopped"
        assert len(fake.requests) == 1


@pytest.mark.parametrize("mode, reason", [("malformed", "not JSON"), ("5xx", "after 2 attempts")])
def test_a_broken_scanner_fails_the_run_with_its_reason(http, registry, oci, mode, reason):
    project(http, "p1")
    digest, _ = oci.push_image("p1/app", "v1")
    with FakeScanner(mode, pending_polls=0) as fake:
        register(http, fake.url)
        assert scan(http).status_code == 202
        row = finished(registry, "p1/app", digest)
    assert row.status == "Error" and reason in row.reason, row.reason
    # pushes and pulls go on whatever the scanner did
    assert oci.push_image("p1/app", "v2")[0]
    assert http.get(f"/v2/p1/app/manifests/{digest}").status_code == 200


def test_an_unreachable_scanner_fails_after_its_attempts(http, registry, oci):
    project(http, "p1")
    digest, _ = oci.push_image("p1/app", "v1")
    register(http, "http://127.0.0.1:9")
    assert scan(http).status_code == 202
    row = finished(registry, "p1/app", digest)
    assert row.status == "Error" and "unreachable" in row.reason and "2 attempts" in row.reason


def test_a_report_that_never_comes_fails_at_the_timeout(http, registry, oci):
    registry.settings = msgspec.structs.replace(registry.settings, scan_timeout_seconds=1.0)
    registry.scan_worker.settings = registry.settings
    project(http, "p1")
    digest, _ = oci.push_image("p1/app", "v1")
    with FakeScanner("forever") as fake:
        register(http, fake.url)
        assert scan(http).status_code == 202
        row = finished(registry, "p1/app", digest)
    assert row.status == "Error" and "scan_timeout_seconds" in row.reason


def test_an_adapter_without_the_1_1_report_is_asked_for_harbors(http, registry, oci):
    project(http, "p1")
    digest, _ = oci.push_image("p1/app", "v1")
    with FakeScanner("harbor-only", pending_polls=0) as fake:
        register(http, fake.url)
        assert scan(http).status_code == 202
        row = finished(registry, "p1/app", digest)
    assert row.status == "Success" and row.report_media_type.startswith("application/vnd.scanner.adapter")


def test_scans_need_the_scan_permission_and_refusals_record_nothing(http, registry, oci):
    project(http, "p1")
    oci.push_image("p1/app", "v1")
    for name, role in (("gina", 3), ("dev", 2)):
        assert http.post(f"{API}/users", json={"username": name, "password": "Passw0rd-123",
                                               "email": f"{name}@example.com"}).status_code == 201
        assert http.post(f"{API}/projects/p1/members", json={"role_id": role, "member_user": {
            "username": name}}).status_code == 201
    head = registry.app.head()
    guest = {"authorization": basic("gina", "Passw0rd-123")}
    assert http.post(f"{API}/projects/p1/repositories/app/artifacts/v1/scan", headers=guest).status_code == 403
    assert http.get(f"{API}/projects/p1/scanner", headers=guest).status_code == 403
    assert http.post(SCANNERS, json={"name": "X", "url": "http://x"},
                     headers={"authorization": basic("dev", "Passw0rd-123")}).status_code == 403
    # no scanner yet: refused, nothing recorded
    assert scan(http).status_code == 412
    assert scan(http, scan_type="nonsense").status_code == 400
    assert registry.app.head() == head


def test_auto_scan_scans_each_pushed_image_and_artifacts_show_their_scan_overview(http, registry, oci):
    project(http, "p1")
    assert http.put(f"{API}/projects/p1", json={"metadata": {"auto_scan": "true"}}).status_code == 200
    with FakeScanner("ok", pending_polls=0) as fake:
        register(http, fake.url)
        digest, _ = oci.push_image("p1/app", "v1")
        row = finished(registry, "p1/app", digest)
        assert row.status == "Success" and row.trigger == "auto"
        # a tag pushed onto the same manifest asks again; the same push twice while one runs does not fail
        manifest = http.get(f"/v2/p1/app/manifests/{digest}",
                            headers={"accept": "application/vnd.oci.image.manifest.v1+json"}).content
        oci.push_manifest("p1/app", "v2", __import__("json").loads(manifest))
        wait_until(lambda: registry.scan_runs.latest("p1/app", digest, 1, "vulnerability").run == 2, 20)
        finished(registry, "p1/app", digest)
    listed = http.get(f"{API}/projects/p1/repositories/app/artifacts", params={"with_scan_overview": "true"}).json()
    overview = listed[0]["scan_overview"]["application/vnd.security.vulnerability.report; version=1.1"]
    assert overview["scan_status"] == "Success" and overview["severity"] == "Critical"
    assert overview["summary"] == {"total": 2, "fixable": 1, "summary": {"Critical": 1, "Low": 1}}
    assert overview["complete_percent"] == 100 and overview["scanner"]["name"] == "Fake"
    assert overview["scanner"]["version"] == "9.9" and overview["end_time"]
    one = http.get(f"{API}/projects/p1/repositories/app/artifacts/v1", params={"with_scan_overview": "true"}).json()
    assert one["scan_overview"] == listed[0]["scan_overview"]
    assert http.get(f"{API}/projects/p1/repositories/app/artifacts/v1").json()["scan_overview"] is None


def test_a_push_without_auto_scan_or_without_a_scanner_requests_nothing(http, registry, oci):
    project(http, "p1")
    digest, _ = oci.push_image("p1/app", "v1")  # auto_scan off
    assert http.put(f"{API}/projects/p1", json={"metadata": {"auto_scan": "true"}}).status_code == 200
    other, _ = oci.push_image("p1/app", "v2")  # no scanner registered
    wait_until(lambda: not registry.scan_runs.pushes(), 20)
    assert registry.scan_runs.latest("p1/app", digest, 1, "vulnerability") is None
    assert registry.scan_runs.latest("p1/app", other, 1, "vulnerability") is None


def test_a_lagging_worker_decides_a_push_by_the_settings_the_project_had_at_that_push(
        http, registry, oci, monkeypatch):
    import workers.scanning.runner as runner
    from workers.scanning.auto_scan import request_for_pushes

    monkeypatch.setattr(runner, "request_for_pushes", lambda registry: 0)  # the worker lags
    project(http, "p1")
    before, _ = oci.push_image("p1/app", "v1")  # auto_scan off
    assert http.put(f"{API}/projects/p1", json={"metadata": {"auto_scan": "true"}}).status_code == 200
    with FakeScanner("ok", pending_polls=0) as fake:
        register(http, fake.url)
        after, _ = oci.push_image("p1/app", "v2")
        registry.scan_run_projector.catch_up()
        assert request_for_pushes(registry) == 1
        assert registry.scan_runs.latest("p1/app", before, 1, "vulnerability") is None
        assert finished(registry, "p1/app", after).trigger == "auto"
    assert scan(http, "p1/app", "v1").status_code == 202  # nothing was left running on v1


def test_scan_endings_are_sent_as_harbors_scanning_webhooks(http, registry, oci):
    from tests.integration.webhook_flows import create_policy
    from tests.integration.webhook_receivers import Receiver

    with Receiver() as receiver, FakeScanner("ok", pending_polls=0) as fake:
        create_policy(http, receiver.url, ["SCANNING_COMPLETED", "SCANNING_FAILED", "SCANNING_STOPPED"])
        register(http, fake.url)
        digest, _ = oci.push_image("library/app", "v1")
        assert scan(http, "library/app").status_code == 202
        body = receiver.wait_for(1)[0].json()
    assert body["type"] == "SCANNING_COMPLETED" and body["operator"] == "admin"
    resource = body["event_data"]["resources"][0]
    assert resource["digest"] == digest and resource["resource_url"].endswith(f"library/app@{digest}")
    overview = resource["scan_overview"]["application/vnd.security.vulnerability.report; version=1.1"]
    assert overview["scan_status"] == "Success" and overview["summary"]["total"] == 2
    assert overview["report_id"] == registry.scan_runs.latest("library/app", digest, 1, "vulnerability").scan_key
    assert body["event_data"]["repository"]["repo_full_name"] == "library/app"


def test_a_robot_without_the_scan_permission_cannot_scan_and_another_projects_ids_are_not_found(http, registry, oci):
    project(http, "p1")
    project(http, "p2")
    digest, _ = oci.push_image("p1/app", "v1")
    oci.push_image("p2/app", "v1")
    robot = http.post(f"{API}/robots", json={"name": "ci", "level": "project", "permissions": [
        {"kind": "project", "namespace": "p1", "access": [{"resource": "repository", "action": "pull"},
                                                         {"resource": "artifact", "action": "read"}]}]}).json()
    as_robot = {"authorization": basic(robot["name"], robot["secret"])}
    with FakeScanner("forever") as fake:
        register(http, fake.url)
        assert scan(http).status_code == 202
        assert http.post(f"{API}/projects/p1/repositories/app/artifacts/v1/scan", headers=as_robot).status_code == 403
        row = registry.scan_runs.latest("p1/app", digest, 1, "vulnerability")
        # the report id of p1's run named through p2's artifact, or a made-up one: 404
        assert http.get(f"{API}/projects/p2/repositories/app/artifacts/v1/scan/{row.scan_key}/log").status_code == 404
        assert http.get(f"{API}/projects/p1/repositories/app/artifacts/v1/scan/not-a-report/log").status_code == 404
        # stopping p2's artifact does not stop p1's run
        assert http.post(f"{API}/projects/p2/repositories/app/artifacts/v1/scan/stop",
                         json={"scan_type": "vulnerability"}).status_code == 404
        assert registry.scan_runs.latest("p1/app", digest, 1, "vulnerability").status in ("Pending", "Running")
        assert http.post(f"{API}/projects/p1/repositories/app/artifacts/v1/scan/stop",
                         json={"scan_type": "vulnerability"}).status_code == 202


def test_a_project_created_again_starts_with_the_default_scanner_and_no_scans(http, registry, oci):
    first = register(http, "http://127.0.0.1:9", "One")
    second = register(http, "http://127.0.0.1:9", "Two")
    project(http, "iso")
    assert http.put(f"{API}/projects/iso/scanner", json={"uuid": second}).status_code == 200
    assert http.get(f"{API}/projects/iso/scanner").json()["uuid"] == second
    digest, _ = oci.push_image("iso/app", "v1")
    assert scan(http, "iso/app").status_code == 202
    finished(registry, "iso/app", digest)
    assert http.delete(f"{API}/projects/iso/repositories/app").status_code == 200
    assert http.delete(f"{API}/projects/iso").status_code == 200
    project(http, "iso")
    assert http.get(f"{API}/projects/iso/scanner").json()["uuid"] == first
    oci.push_image("iso/app", "v1")
    one = http.get(f"{API}/projects/iso/repositories/app/artifacts/v1", params={"with_scan_overview": "true"}).json()
    assert one["scan_overview"] == {}
    assert http.put(f"{API}/projects/iso/scanner", json={"uuid": "nope"}).status_code == 400


def test_scan_all_scans_every_image_shows_its_metrics_and_can_be_stopped(http, registry, oci):
    project(http, "p1")
    project(http, "p2")
    for repo in ("p1/a", "p1/b", "p2/c"):
        oci.push_image(repo, "v1")
    metrics = "/api/v2.0/scans/all/metrics"
    assert http.get(metrics).json() == {"total": 0, "completed": 0, "metrics": {}, "ongoing": False,
                                        "trigger": "Manual"}
    with FakeScanner("ok", pending_polls=0) as fake:
        register(http, fake.url)
        assert http.post(f"{API}/system/scanAll/schedule", json={"schedule": {"type": "Manual"}}).status_code == 201
        done = wait_until(lambda: (lambda m: m if not m["ongoing"] and m["completed"] == 3 else None)(
            http.get(metrics).json()), 30)
    assert done == {"total": 3, "completed": 3, "metrics": {"Success": 3}, "ongoing": False, "trigger": "Manual"}
    assert {r.trigger for r in (registry.scan_runs.latest(repo, d, 1, "vulnerability") for repo, d in [
        ("p1/a", oci_digest(http, "p1/a"))])} == {"scan_all"}
    # a schedule is Harbor's shape; None removes it
    assert http.post(f"{API}/system/scanAll/schedule", json={"schedule": {"type": "Daily"}}).status_code == 201
    shown = http.get(f"{API}/system/scanAll/schedule").json()
    assert shown["schedule"]["type"] == "Daily" and shown["schedule"]["cron"] == "0 0 0 * * *"
    assert http.post(f"{API}/system/scanAll/schedule", json={"schedule": {"type": "Hourly"}}).status_code == 409
    assert http.put(f"{API}/system/scanAll/schedule", json={"schedule": {"type": "None"}}).status_code == 200
    assert http.get(f"{API}/system/scanAll/schedule").json()["schedule"] is None
    assert http.get("/api/v2.0/scans/schedule/metrics").json()["total"] == 0
    # a run whose scans never end is stopped with them
    with FakeScanner("forever") as fake:
        register(http, fake.url, "Slow")
        registry.scanners.choose_default(__import__("commands.scanning.registrations", fromlist=["x"])
                                         .ChooseDefaultScanner(registry.scanners.current().by_name("Slow"),
                                                               __import__("domain.base").base.SYSTEM))
        assert http.post(f"{API}/system/scanAll/schedule", json={"schedule": {"type": "Manual"}}).status_code == 201
        wait_until(lambda: len(fake.requests) == 3, 30)
        assert http.post(f"{API}/system/scanAll/stop").status_code == 202
        stopped = wait_until(lambda: (lambda m: m if not m["ongoing"] else None)(http.get(metrics).json()), 30)
    assert stopped["metrics"] == {"Stopped": 3} and stopped["completed"] == 3
    assert http.post(f"{API}/system/scanAll/stop").status_code == 409


def oci_digest(http, repo: str) -> str:
    project, name = repo.split("/", 1)
    return http.get(f"{API}/projects/{project}/repositories/{name}/artifacts/v1").json()["digest"]


def test_a_scanners_re_match_results_become_a_rematch_report_once(http, registry, oci):
    project(http, "p1")
    project(http, "p2")
    with FakeScanner("ok", pending_polls=0) as fake:
        register(http, fake.url)
        digest, _ = oci.push_image("p1/app", "v1")
        other, _ = oci.push_image("p2/app", "v1")  # never scanned: a result naming it is skipped
        assert scan(http).status_code == 202
        assert finished(registry, "p1/app", digest).status == "Success"
        hit = {"id": "CVE-2026-0003", "package": "bash", "version": "5.2", "severity": "High", "fix_version": "5.3",
               "cvss": {}, "description": "found after an import"}
        fake.affected = [
            {"sequence": 1, "import_number": 2, "found_at": "2026-12-01T00:00:00Z", "registry": "x",
             "repository": "p1/app", "digest": digest, "hit": hit},
            {"sequence": 2, "import_number": 2, "found_at": "2026-12-01T00:00:00Z", "registry": "x",
             "repository": "p2/app", "digest": other, "hit": hit},
            {"sequence": 3, "import_number": 2, "found_at": "2026-12-01T00:00:00Z", "registry": "x",
             "repository": "p1/gone", "digest": digest, "hit": hit}]
        registry.rematch_follower.poll(force=True)

        def rematched():
            row = registry.scan_runs.latest("p1/app", digest, 1, "vulnerability")
            return row if row is not None and row.trigger == "rematch" else None
        row = wait_until(rematched, 20)
        assert row.run == 2 and row.status == "Success"
        report = wait_until(lambda: http.get(f"{API}/projects/p1/repositories/app/artifacts/v1/additions/vulnerabilities")
                            .json().get(REPORT_TYPE), 20)
        assert {v["id"] for v in report["vulnerabilities"]} >= {"CVE-2026-0001", "CVE-2026-0002"}
        wait_until(lambda: "CVE-2026-0003" in {v["id"] for v in http.get(
            f"{API}/projects/p1/repositories/app/artifacts/v1/additions/vulnerabilities").json()[REPORT_TYPE][
            "vulnerabilities"]}, 20)
        assert registry.scan_runs.latest("p2/app", other, 1, "vulnerability") is None
        registry.rematch_follower.poll(force=True)  # the cursor was saved with the run: nothing again
        assert registry.scan_runs.latest("p1/app", digest, 1, "vulnerability").run == 2
