"""The scanner adapter's answers to bad requests, to registries that are gone or lie, to a
hostile image past its limits, and to callers without its API token."""

import base64
import hashlib
import json

import pytest

from domain.scanning.reports import SBOM_REPORT, VULN_REPORT_1_1
from tests.integration.scanner_world import LyingRegistry, Registry, Scanner, free_port, scan_request
from tests.scanner_images import bomb, compress, dist_info, push_image, tar_of

DIGEST = "sha256:" + "a" * 64
ERROR_TYPE = "application/vnd.scanner.adapter.error+json; version=1.0"
RECORD = {"id": "PYSEC-2024-1", "modified": "2024-01-01T00:00:00Z",
          "affected": [{"package": {"ecosystem": "PyPI", "name": "pkg"},
                        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}


@pytest.fixture(scope="module")
def scanner(tmp_path_factory):
    data = tmp_path_factory.mktemp("scanner-faults")
    (data / "one.json").write_text(json.dumps(RECORD))
    running = Scanner(data, TIDEMARK_SCANNER_MAX_UNCOMPRESSED_BYTES=str(8 * 1024 * 1024))
    assert running.vulndb("import", str(data / "one.json")).returncode == 0
    yield running
    running.stop()


def error_of(answer) -> str:
    assert answer.headers["content-type"] == ERROR_TYPE
    return answer.json()["error"]["message"]


@pytest.mark.parametrize("body, status, words", [
    (b"{not json", 400, "not valid JSON"),
    (json.dumps({"registry": {"url": 5}, "artifact": {}}).encode(), 400, "registry.url"),
    (json.dumps({"artifact": {}}).encode(), 400, "registry"),
    (json.dumps(scan_request("ftp://x", "a/b", DIGEST)).encode(), 422, "registry.url"),
    (json.dumps(scan_request("http://r", "A/B", DIGEST)).encode(), 422, "artifact.repository"),
    (json.dumps(scan_request("http://r", "a/b", "sha256:short")).encode(), 422, "artifact.digest"),
    (json.dumps({**scan_request("http://r", "a/b", DIGEST), "enabled_capabilities": [{"type": "secrets"}]}).encode(),
     422, "enabled_capabilities[0].type"),
    (json.dumps({**scan_request("http://r", "a/b", DIGEST),
                 "artifact": {"repository": "a/b", "digest": DIGEST, "mime_type": "application/vnd.cncf.helm.config.v1+json"}}).encode(),
     422, "artifact.mime_type"),
])
def test_a_bad_scan_request_is_refused_naming_the_field(scanner, body, status, words):
    answer = scanner.http.post("/api/v1/scan", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status
    assert words in error_of(answer)


def test_an_unknown_scan_id_is_404_and_an_unknown_report_type_501(scanner):
    assert scanner.http.get("/api/v1/scan/no-such-scan/report").status_code == 404
    scan_id = scanner.scan(scan_request(f"http://127.0.0.1:{free_port()}", "a/b", DIGEST)).json()["id"]
    answer = scanner.report(scan_id, "application/vnd.scanner.adapter.vuln.report.raw")
    assert answer.status_code == 501
    assert "no report of type" in error_of(answer)


def test_an_unreachable_registry_ends_the_scan_in_error_with_the_reason(scanner):
    port = free_port()
    scan_id = scanner.scan(scan_request(f"http://127.0.0.1:{port}", "a/b", DIGEST)).json()["id"]
    failed = scanner.report(scan_id, VULN_REPORT_1_1)
    assert failed.status_code == 500
    assert f"cannot reach the registry at http://127.0.0.1:{port}" in error_of(failed)


def test_a_registry_that_answers_another_manifest_ends_the_scan_in_error(scanner):
    manifest = json.dumps({"schemaVersion": 2, "layers": []}).encode()
    actual = "sha256:" + hashlib.sha256(manifest).hexdigest()
    liar = LyingRegistry(manifest)
    try:
        scan_id = scanner.scan(scan_request(liar.url, "a/b", DIGEST)).json()["id"]
        failed = scanner.report(scan_id, SBOM_REPORT, sbom_media_type="application/spdx+json")
    finally:
        liar.close()
    assert failed.status_code == 500
    assert f"the registry answered a manifest whose digest is {actual}, not the {DIGEST} asked for" in error_of(failed)


def test_a_decompression_bomb_ends_the_scan_at_the_configured_limit(scanner, tmp_path):
    registry = Registry(tmp_path)
    try:
        registry.create_project("hostile")
        admin = {"Authorization": "Basic " + base64.b64encode(b"admin:Scanner-Admin-Passw0rd").decode()}
        digest = push_image(registry.url, "hostile/bomb", "v1",
                            [compress(tar_of([dist_info("site", "pkg", "1.0")])), bomb(32 * 1024 * 1024)], admin)
        body = scan_request(registry.url, "hostile/bomb", digest, f"Bearer {registry.pull_token('hostile/bomb')}")
        failed = scanner.report(scanner.scan(body).json()["id"], VULN_REPORT_1_1)
    finally:
        registry.stop()
    assert failed.status_code == 500
    assert "expands past the limit of 8388608 uncompressed bytes" in error_of(failed)
    assert list((scanner.data_dir / "scanner" / "scratch").iterdir()) == []  # its download is gone too


def test_with_an_api_token_set_callers_must_send_it(tmp_path):
    guarded = Scanner(tmp_path, TIDEMARK_SCANNER_API_TOKEN="s3cret-token")
    try:
        assert "token required" in guarded.line
        refused = guarded.http.get("/api/v1/metadata")
        assert refused.status_code == 401 and "token" in error_of(refused)
        assert guarded.http.get("/api/v1/metadata", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert guarded.http.post("/api/v1/scan", json={}).status_code == 401
        assert guarded.http.get("/api/v1/metadata", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        basic = base64.b64encode(b"harbor:s3cret-token").decode()
        assert guarded.http.get("/api/v1/metadata", headers={"Authorization": f"Basic {basic}"}).status_code == 200
        assert guarded.http.get("/api/v1/metadata", headers={"X-ScannerAdapter-API-Key": "s3cret-token"}).status_code == 200
        assert guarded.http.get("/probe/healthy").status_code == 200
    finally:
        assert guarded.stop() == 0  # SIGTERM: a clean exit


def test_a_vulnerability_scan_with_no_database_says_so(tmp_path):
    empty = Scanner(tmp_path)
    try:
        scan_id = empty.scan(scan_request(f"http://127.0.0.1:{free_port()}", "a/b", DIGEST)).json()["id"]
        failed = empty.report(scan_id, VULN_REPORT_1_1)
        assert failed.status_code == 500
        assert "the vulnerability database is empty" in error_of(failed)
        assert empty.http.get("/probe/ready").status_code == 503
    finally:
        empty.stop()


def test_a_shared_scratch_directory_keeps_what_is_not_the_scanners(tmp_path):
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    (shared / "someone-elses-file").write_text("keep me")
    (shared / "scan-left-by-a-killed-scanner").mkdir()
    scanner = Scanner(tmp_path / "data", TIDEMARK_SCANNER_SCRATCH_DIR=str(shared))
    assert scanner.stop() == 0
    assert sorted(p.name for p in shared.iterdir()) == ["someone-elses-file"]
