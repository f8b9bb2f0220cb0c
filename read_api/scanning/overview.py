"""Harbor's scan_overview of an artifact: its newest vulnerability scan, keyed by the report's
MIME type (NativeReportSummary: report_id, scan_status, severity, duration, summary,
start_time, end_time, complete_percent, scanner); and its sbom_overview: its newest SBOM run
(SBOMOverview: start_time, end_time, scan_status, sbom_digest, report_id, duration, scanner)."""

from datetime import datetime

from domain.errors import NameUnknown
from domain.scanning.reports import VULN_REPORT_1_1


def _seconds(start: str | None, end: str | None) -> int:
    if not start or not end:
        return 0
    try:
        return max(0, int((datetime.fromisoformat(end.replace("Z", "+00:00")) -
                           datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()))
    except ValueError:
        return 0


def overview_of(row) -> dict:
    """{report MIME type: NativeReportSummary} of one run."""
    done = row.status in ("Success", "Error", "Stopped")
    summary = row.summary or {}
    body = {"report_id": row.scan_key, "scan_status": row.status,
            "severity": summary.get("severity", "None") if row.status == "Success" else "",
            "duration": _seconds(row.requested_at, row.ended_at), "start_time": row.requested_at,
            "end_time": row.ended_at or "", "complete_percent": 100 if done else 0,
            "scanner": {"name": row.scanner_name, "vendor": "", "version": row.scanner_version}}
    if row.status == "Success":
        body["summary"] = {"total": summary.get("total", 0), "fixable": summary.get("fixable", 0),
                           "summary": summary.get("summary", {})}
    return {row.report_media_type or VULN_REPORT_1_1: body}


def sbom_overview_of(row, sbom_digest: str | None) -> dict:
    """SBOMOverview of one SBOM run."""
    body = {"start_time": row.requested_at, "end_time": row.ended_at or "", "scan_status": row.status,
            "report_id": row.scan_key, "duration": _seconds(row.requested_at, row.ended_at),
            "scanner": {"name": row.scanner_name, "vendor": "", "version": row.scanner_version}}
    if sbom_digest:
        body["sbom_digest"] = sbom_digest
    return body


def overviews(registry, repository: str, digests: list[str], kind: str) -> dict[tuple[str, str], dict]:
    """(repository, digest) -> scan_overview (`kind` "vulnerability") or sbom_overview ("sbom")
    for the artifacts of one repository."""
    try:
        generation = registry.commands.generation(repository)
    except NameUnknown:  # the project is gone: nothing to show
        return {}
    latest = {digest: row for (digest, of), row in registry.scan_runs.latest_of(repository, digests,
                                                                               generation).items() if of == kind}
    if kind == "vulnerability":
        return {(repository, digest): overview_of(row) for digest, row in latest.items()}
    stored = registry.scan_runs.sbom_digests([row.scan_key for row in latest.values()])
    return {(repository, digest): sbom_overview_of(row, stored.get(row.scan_key)) for digest, row in latest.items()}


def scan_overviews(registry, repository: str, digests: list[str]) -> dict[tuple[str, str], dict]:
    """(repository, digest) -> scan_overview for the artifacts of one repository."""
    return overviews(registry, repository, digests, "vulnerability")
