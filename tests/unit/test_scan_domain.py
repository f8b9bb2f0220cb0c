"""A scan run's life and its stored findings."""

import pytest

from domain.base import Actor
from domain.errors import BadRequest, Conflict
from domain.scanning.scan import Finding, Scan, clean_findings, scan_id, summarize

ACTOR = Actor("alice")


def _scan(run: int = 1) -> Scan:
    return Scan.request("p", "p/app", "sha256:" + "a" * 64, 1, "vulnerability", run, "manual",
                        "uuid-1", "Tidemark", "application/vnd.oci.image.manifest.v1+json", ACTOR)


def test_runs_of_one_artifact_have_distinct_ids_and_generations_are_kept_apart():
    digest = "sha256:" + "a" * 64
    assert scan_id("p/app", digest, 1, "vulnerability", 1) != scan_id("p/app", digest, 1, "vulnerability", 2)
    assert scan_id("p/app", digest, 1, "vulnerability", 1) != scan_id("p/app", digest, 2, "vulnerability", 1)
    assert _scan().id == scan_id("p/app", digest, 1, "vulnerability", 1)


def test_a_completed_scan_records_sorted_unique_findings_and_harbor_summary():
    scan = _scan()
    scan.submitted("req-1", 1, ACTOR)
    scan.complete("1.0", "application/vnd.security.vulnerability.report; version=1.1", [
        Finding("CVE-2024-1", "openssl", "1.0", "High", fix_version="1.1"),
        Finding("CVE-2024-2", "zlib", "1.2", "Critical"),
        Finding("CVE-2024-1", "openssl", "1.0", "High", fix_version="1.1"),
        Finding("GHSA-x", "left-pad", "1.0", "Bogus", description="d" * 5000),
    ], ACTOR)
    event = scan.collect_events()[-1]
    assert [f["id"] for f in event.findings] == ["CVE-2024-2", "CVE-2024-1", "GHSA-x"]
    assert event.findings[2]["severity"] == "Unknown" and len(event.findings[2]["description"]) == 1024
    assert event.summary == {"total": 3, "fixable": 1, "severity": "Critical",
                             "summary": {"Critical": 1, "High": 1, "Unknown": 1}}
    assert scan.status == "Success"


def test_an_ended_scan_cannot_be_stopped_or_completed_again():
    scan = _scan()
    scan.fail("scanner unreachable", 3, ACTOR)
    with pytest.raises(Conflict):
        scan.stop(ACTOR)
    with pytest.raises(Conflict):
        scan.complete("1", "x", [], ACTOR)


def test_nothing_found_is_severity_none():
    assert summarize(clean_findings([])) == {"total": 0, "fixable": 0, "summary": {}, "severity": "None"}


def test_unknown_kind_is_refused():
    with pytest.raises(BadRequest):
        Scan.request("p", "p/app", "sha256:" + "a" * 64, 1, "malware", 1, "manual", "u", "n", "m", ACTOR)
