"""Garbage collection frees exactly the unreferenced bytes and never breaks an artifact."""

import os
import threading

import pytest

from infra.settings import Settings


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture
def settings(settings) -> Settings:
    import msgspec

    return msgspec.structs.replace(settings, gc_grace_seconds=0, gc_history_window_seconds=0)


def stored(registry) -> dict[str, int]:
    return {digest: size for digest, size, _ in registry.blobs.list_blobs()}


def test_gc_after_deletes_frees_exactly_the_unreferenced_bytes(http, oci, registry):
    keep_digest, _ = oci.push_image("library/app", "keep")
    drop_digest, drop_body = oci.push_image("library/app", "drop")
    kept_manifest = http.get(f"/v2/library/app/manifests/{keep_digest}").json()
    dropped_manifest = http.get(f"/v2/library/app/manifests/{drop_digest}").json()
    http.delete(f"/v2/library/app/manifests/{drop_digest}")
    before = stored(registry)
    dropped = {drop_digest} | {d["digest"] for d in [dropped_manifest["config"], *dropped_manifest["layers"]]}
    expected = sum(before[d] for d in dropped)

    run_id = registry.collector.run(dry_run=False, delete_untagged=False)

    after = stored(registry)
    assert set(before) - set(after) == dropped
    assert sum(before.values()) - sum(after.values()) == expected
    row = registry.gc.run(run_id)
    assert row[4] == "Success" and row[6] == expected
    assert http.get("/v2/library/app/manifests/keep").status_code == 200
    for layer in kept_manifest["layers"]:
        assert http.get(f"/v2/library/app/blobs/{layer['digest']}").status_code == 200


def test_dry_run_reports_and_deletes_nothing(http, oci, registry):
    digest, _ = oci.push_image("library/app", "v1")
    http.delete(f"/v2/library/app/manifests/{digest}")
    before = stored(registry)
    run_id = registry.collector.run(dry_run=True, delete_untagged=False)
    assert stored(registry) == before
    row = registry.gc.run(run_id)
    assert row[4] == "Success" and row[5] > 0 and row[6] > 0


def test_history_window_keeps_what_undelete_needs(http, oci, registry):
    registry.collector.collector.window = 3600
    digest, body = oci.push_image("library/app", "v1")
    http.delete(f"/v2/library/app/manifests/{digest}")
    registry.collector.run(dry_run=False, delete_untagged=False)
    assert http.post(f"/api/v2.0/projects/library/repositories/app/artifacts/{digest}/undelete").status_code == 200
    assert http.get(f"/v2/library/app/manifests/{digest}").content == body


def test_untagged_artifacts_can_be_deleted_first(http, oci, registry):
    untagged, _ = oci.push_image("library/app", "v1")
    oci.push_image("library/app", "v1")  # the tag moves on; the first artifact is untagged now
    registry.collector.run(dry_run=False, delete_untagged=True)
    assert http.get(f"/v2/library/app/manifests/{untagged}").status_code == 404
    assert http.get("/v2/library/app/manifests/v1").status_code == 200


def test_pushes_during_gc_stay_pullable(http, oci, registry):
    for index in range(5):
        digest, _ = oci.push_image("library/old", f"v{index}")
        http.delete(f"/v2/library/old/manifests/{digest}")
    pushed: list[str] = []
    stop = threading.Event()

    def pusher() -> None:
        while not stop.is_set() and len(pushed) < 30:
            pushed.append(oci.push_image("library/live", f"t{len(pushed)}")[0])

    thread = threading.Thread(target=pusher)
    thread.start()
    registry.collector.run(dry_run=False, delete_untagged=False)
    stop.set()
    thread.join()
    for index, digest in enumerate(pushed):
        manifest = http.get(f"/v2/library/live/manifests/{digest}")
        assert manifest.status_code == 200
        for layer in manifest.json()["layers"]:
            blob = http.get(f"/v2/library/live/blobs/{layer['digest']}")
            assert blob.status_code == 200


def test_gc_through_the_api_shows_history_and_log(http, oci, registry):
    import time

    digest, _ = oci.push_image("library/app", "v1")
    http.delete(f"/v2/library/app/manifests/{digest}")
    response = http.post("/api/v2.0/system/gc/schedule",
                         json={"schedule": {"type": "Manual"}, "parameters": {"dry_run": False}})
    assert response.status_code == 201
    for _ in range(100):
        history = http.get("/api/v2.0/system/gc").json()
        if history and history[0]["job_status"] != "Running":
            break
        time.sleep(0.05)
    assert history[0]["job_status"] == "Success" and history[0]["freed_bytes"] > 0
    log = http.get(f"/api/v2.0/system/gc/{history[0]['id']}/log").text
    assert "freed" in log


def test_gc_api_refuses_bad_parameters_and_non_admins(http):
    response = http.post("/api/v2.0/system/gc/schedule", json={"parameters": {"dry_run": "yes"}})
    assert response.status_code == 400 and "dry_run" in response.json()["errors"][0]["message"]
    from tests.integration.iam_helpers import as_user, create_user

    create_user(http, "olga")
    assert http.post("/api/v2.0/system/gc/schedule", json={"schedule": {"type": "Manual"}},
                     headers=as_user("olga")).status_code == 403
    assert http.put("/api/v2.0/system/gc/1", headers=as_user("olga")).status_code == 403


def test_a_running_gc_stops_on_request_after_its_current_batch(http, oci, registry, monkeypatch):
    from workers import gc as gc_worker

    monkeypatch.setattr(gc_worker, "BATCH", 1)  # one blob a batch: room to stop in between
    digests = [oci.push_blob("library/app", os.urandom(64 + n)) for n in range(3)]
    before = stored(registry)
    asked = []

    def report(progress: dict) -> None:
        if progress["phase"] == "sweep" and not asked:
            [run] = [r for r in http.get("/api/v2.0/system/gc").json() if r["job_status"] == "Running"]
            asked.append(http.put(f"/api/v2.0/system/gc/{run['id']}"))
            asked.append(http.put(f"/api/v2.0/system/gc/{run['id']}"))  # asking twice is fine

    run_id = registry.collector.run(dry_run=False, delete_untagged=False, report=report)
    assert [r.status_code for r in asked] == [200, 200]
    registry.catch_up()
    [shown] = [r for r in http.get("/api/v2.0/system/gc").json() if r["run_id"] == run_id]
    assert shown["job_status"] == "Stopped" and shown["freed_blobs"] == 1
    assert "admin" in http.get(f"/api/v2.0/system/gc/{shown['id']}/log").text
    remaining = set(stored(registry))
    assert len(set(digests) - remaining) == 1 and len(set(before) - remaining) == 1
    # an ended run cannot be stopped; an unknown one is not found
    finished = registry.collector.run(dry_run=False, delete_untagged=False)
    registry.catch_up()
    [done] = [r for r in http.get("/api/v2.0/system/gc").json() if r["run_id"] == finished]
    refused = http.put(f"/api/v2.0/system/gc/{done['id']}")
    assert refused.status_code == 409 and "Success" in refused.json()["errors"][0]["message"]
    assert http.put("/api/v2.0/system/gc/999999").status_code == 404
