"""Completed vulnerability scans saved straight into the event log (not through the scan
routes): what the vulnerability views, the pull gate, Security Hub and CVE export read."""

import itertools

from domain.base import SYSTEM
from domain.scanning.scan import Finding, Scan

_runs = itertools.count(1)


def finding(cve: str, severity: str = "High", package: str = "openssl", version: str = "1.0",
            fix: str = "", score: float | None = None) -> Finding:
    return Finding(id=cve, package=package, version=version, severity=severity, fix_version=fix,
                   description=f"{cve} in {package}", links=[f"https://avd.example/{cve}"],
                   cvss_score=score, cvss_vector="CVSS:3.1/AV:N" if score is not None else "")


def complete_scan(registry, repository: str, digest: str, findings: list[Finding], generation: int = 1,
                  media_type: str = "application/vnd.oci.image.manifest.v1+json",
                  scanner: str = "Trivy") -> str:
    """Record a requested-then-completed vulnerability scan of the artifact; bring the views up
    to date; return the report id (the run's stream id)."""
    run = next(_runs)
    scan = Scan.request(repository.split("/", 1)[0], repository, digest, generation, "vulnerability", run,
                        "manual", "scanner-uuid", scanner, media_type, SYSTEM)
    scan.complete("0.50", "application/vnd.security.vulnerability.report; version=1.1", findings, SYSTEM)
    registry.app.save(scan)
    registry.catch_up_reads()
    return str(scan.id)
