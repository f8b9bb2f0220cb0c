"""The audit log and `events verify`: who did what, and proof the log was not edited."""

import pytest

from tests.integration.conftest import basic


@pytest.fixture
def backend():
    return "sqlite"


def test_audit_log_records_pushes_tag_moves_deletes_and_member_changes(http, oci, registry):
    digest, _ = oci.push_image("library/app", "v1")
    oci.push_image("library/app", "v1")
    http.delete(f"/v2/library/app/manifests/{digest}")
    http.post("/api/v2.0/users", json={"username": "erin", "password": "Erin-Passw0rd"})
    http.post("/api/v2.0/projects/library/members", json={"role_id": 2, "member_user": {"username": "erin"}})
    registry.catch_up()
    logs = http.get("/api/v2.0/audit-logs?page_size=100").json()
    seen = {(l["operation"], l["resource_type"]) for l in logs}
    assert {("create", "artifact"), ("create", "tag"), ("update", "tag"), ("delete", "artifact"),
            ("create", "user"), ("create", "project_member")} <= seen
    push = next(l for l in logs if l["resource"] == f"library/app@{digest}" and l["operation"] == "create")
    assert push["username"] == "admin" and push["request_id"] and push["client_ip"]


def test_pulls_are_recorded_in_batches(http, oci, registry):
    digest, _ = oci.push_image("library/app", "v1")
    for _ in range(3):
        assert http.get("/v2/library/app/manifests/v1").status_code == 200
    assert registry.pulls.flush() == 3
    registry.catch_up()
    pulls = http.get("/api/v2.0/audit-logs", params={"q": "operation=pull"}).json()
    assert len(pulls) == 3 and pulls[0]["resource"] == f"library/app@{digest}"


def test_audit_query_language_and_errors(http, oci, registry):
    oci.push_image("library/app", "v1")
    registry.catch_up()
    fuzzy = http.get("/api/v2.0/audit-logs", params={"q": "resource=~library/app,operation={create delete}"})
    assert fuzzy.status_code == 200 and fuzzy.json()
    bad = http.get("/api/v2.0/audit-logs", params={"q": "colour=blue"})
    assert bad.status_code == 400 and "colour" in bad.json()["errors"][0]["message"]
    broken = http.get("/api/v2.0/audit-logs", params={"q": "op_time=[2020"})
    assert broken.status_code == 400 and "op_time" in broken.json()["errors"][0]["message"]


def test_audit_log_is_for_administrators(http):
    http.post("/api/v2.0/users", json={"username": "fred", "password": "Fred-Passw0rd"})
    response = http.get("/api/v2.0/audit-logs", headers={"authorization": basic("fred", "Fred-Passw0rd")})
    assert response.status_code == 403


def test_project_changes_between_two_positions(http, oci, registry):
    start = registry.app.head()
    digest, _ = oci.push_image("library/app", "v1")
    changes = http.get("/api/v2.0/projects/library/changes", params={"from": str(start)}).json()
    kinds = [c["type"] for c in changes]
    assert "io.tidemark.artifact.pushed.v1" in kinds and all(c["project"] == "library" for c in changes)
    assert all(c["data"]["request_id"] for c in changes)


def test_verify_passes_on_an_untouched_log(registry, oci):
    from infra.wiring.verify import verify

    oci.push_image("library/app", "v1")
    report = verify(registry)
    assert report.ok and set(report.views.values()) == {"matches"}


def test_verify_detects_an_edited_event(registry, oci, settings):
    import sqlite3

    from infra.wiring.verify import verify

    oci.push_image("library/app", "v1")
    registry.catch_up()
    with sqlite3.connect(settings.data_path / "events.sqlite") as conn:
        conn.execute("UPDATE stored_events SET state = replace(state, 'admin', 'mallory') "
                     "WHERE rowid = (SELECT MAX(rowid) FROM stored_events)")
    report = verify(registry)
    assert not report.ok and "edited" in report.chain


def test_audit_cursor_pages_walk_everything_once(http, oci, registry):
    for tag in ("a", "b", "c"):
        oci.push_image("library/app", tag)
    registry.catch_up()
    everything = http.get("/api/v2.0/audit-logs?page_size=100").json()
    seen, cursor = [], None
    while True:
        params = {"page_size": 4, **({"cursor": cursor} if cursor else {})}
        page = http.get("/api/v2.0/audit-logs", params=params)
        seen += page.json()
        cursor = page.headers.get("x-next-cursor")
        if not cursor:
            break
    assert [e["id"] for e in seen] == [e["id"] for e in everything]
    assert http.get("/api/v2.0/audit-logs", params={"cursor": "!!"}).status_code == 400


def test_accessories_are_found_through_referrers(http, oci):
    import json

    from tests.integration.oci_client import OCI_MANIFEST, sha256

    subject, body = oci.push_image("library/app", "v1")
    signature = oci.image_manifest("library/app", artifactType="application/vnd.dev.cosign.artifact.sig.v1+json",
                                   subject={"mediaType": OCI_MANIFEST, "digest": subject, "size": len(body)})
    raw = json.dumps(signature).encode()
    http.put(f"/v2/library/app/manifests/{sha256(raw)}", content=raw, headers={"content-type": OCI_MANIFEST})
    found = http.get(f"/api/v2.0/projects/library/repositories/app/artifacts/{subject}/accessories").json()
    assert [a["digest"] for a in found] == [sha256(raw)] and found[0]["type"] == "signature.cosign"
