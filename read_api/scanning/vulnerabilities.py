"""An artifact's vulnerability report (Harbor's `additions/vulnerabilities`), its vulnerability
history (Tidemark's: when each CVE appeared, when it was fixed, whether the allowlist exempts
it), and which artifacts a CVE hits and since when (`/security/vul/{cve_id}/artifacts`)."""

import time

import anyio.to_thread
from litestar import Request, get
from litestar.params import FromQuery, Parameter

from domain.errors import BadRequest
from domain.iam.access import allows
from domain.scanning.allowlist import effective_allowlist, state_of
from infra.http.resources import find_artifact, full_repository_name, project_for
from infra.http.rest import caller
from infra.http.rest_guard import position_in_window
from projections.times import parse_instant

REPORT_TYPE = "application/vnd.security.vulnerability.report; version=1.1"
A = ("/api/v2.0/projects/{project_name:str}/repositories/{repository_name:str}/artifacts/{reference:str}")


def harbor_vulnerability(finding: dict) -> dict:
    """One finding in Harbor's VulnerabilityItem shape."""
    vector = finding.get("cvss_vector") or ""
    cvss = {"score_v3": finding.get("cvss_score"), "vector_v3": vector} if finding.get("cvss_score") is not None \
        else {}
    return {"id": finding["id"], "package": finding["package"], "version": finding["version"],
            "fix_version": finding.get("fix_version", ""), "severity": finding["severity"],
            "description": finding.get("description", ""), "links": finding.get("links", []),
            "preferred_cvss": cvss, "cwe_ids": finding.get("cwe_ids", []),
            "vendor_attributes": {k: finding[k] for k in ("ecosystem", "purl") if finding.get(k)}}


def _report(registry, repository: str, digest: str) -> dict:
    queries = registry.vulnerabilities
    report = queries.report(repository, digest)
    if report is None:
        return {}
    findings = queries.findings(repository, digest)
    return {REPORT_TYPE: {
        "report_id": report.report_id, "generated_at": report.generated_at,
        "scanner": {"name": report.scanner, "vendor": report.scanner, "version": report.scanner_version},
        "severity": report.severity, "summary": report.summary,
        "vulnerabilities": [harbor_vulnerability(f) for f in findings]}}


@get(A + "/additions/vulnerabilities")
async def get_vulnerabilities(request: Request, project_name: str = Parameter(),
                              repository_name: str = Parameter(), reference: str = Parameter()) -> dict:
    """The artifact's latest vulnerability report, keyed by its media type (`{}`: not scanned)."""
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    row = await find_artifact(who.registry, name, reference, None)
    return await anyio.to_thread.run_sync(_report, who.registry, name, row.digest)


def _allowlist_at(registry, project: str, position: int | None) -> dict:
    settings = registry.project_settings.of(project, position)
    if settings is None:
        return {"items": []}
    system = registry.configuration.values(position)["cve_allowlist"] \
        if settings.metadata.get("reuse_sys_cve_allowlist") == "true" else None
    return effective_allowlist(settings.metadata, settings.allowlist, system)[1]


def _moment(registry, position: int | None) -> float:
    if position is None:
        return time.time()
    at = registry.vulnerabilities.moment_of(position)
    return parse_instant(at).timestamp() if at else time.time()


def _history(registry, project: str, repository: str, digest: str, position: int | None) -> list[dict]:
    allowlist = _allowlist_at(registry, project, position)
    now = _moment(registry, position)
    entries: dict[tuple, dict] = {}
    for cve, package, version, severity, fix, at, appeared, closed_at, closed, closed_by in \
            registry.vulnerabilities.intervals(repository, digest, position):
        entry = entries.setdefault((cve, package, version), {
            "cve_id": cve, "package": package, "version": version, "first_seen": at,
            "first_seen_position": appeared, "periods": []})
        entry["severity"], entry["fix_version"] = severity, fix
        entry["periods"].append({"from": at, "to": closed_at, "ended_by": closed_by})
        entry["fixed_at"] = closed_at if closed_by == "report" else None
        entry["open"] = closed is None
        entry["allowlist"] = state_of(cve, allowlist, now) or "none"
    return list(entries.values())


@get(A + "/vulnerabilities/history")
async def vulnerability_history(request: Request, project_name: str = Parameter(),
                                repository_name: str = Parameter(), reference: str = Parameter(),
                                at: FromQuery[str | None] = None) -> list[dict]:
    """Every CVE the artifact's reports showed (by `at`): when it first appeared, the periods it
    was present, when a later report no longer had it (fixed), and its allowlist state."""
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    position = await position_in_window(who, at)
    row = await find_artifact(who.registry, name, reference, position)
    return await anyio.to_thread.run_sync(_history, who.registry, project.name, name, row.digest, position)


def _cve_artifacts(registry, principal, cve_id: str, position: int | None) -> list[dict]:
    readable = [name for name, public in registry.queries.all_projects()
                if allows(principal, name, public, "artifact", "read")]
    rows = registry.vulnerabilities.artifacts_with(cve_id, readable, position)
    return [{"project_name": r[0].split("/", 1)[0], "repository_name": r[0], "digest": r[1], "package": r[2],
             "version": r[3], "severity": r[4], "since": r[5], "since_position": r[6], "present": r[7]}
            for r in rows]


@get("/api/v2.0/security/vul/{cve_id:str}/artifacts")
async def cve_artifacts(request: Request, cve_id: str = Parameter(),
                       at: FromQuery[str | None] = None) -> list[dict]:
    """The artifacts of projects the caller may read that a CVE was found in (by `at`), since
    when, and whether their latest report still has it."""
    who = await caller(request)
    if len(cve_id) > 128:
        raise BadRequest("cve_id is too long", {"cve_id": cve_id[:64]})
    position = await anyio.to_thread.run_sync(who.registry.history.resolve_at, at, "at")
    return await anyio.to_thread.run_sync(_cve_artifacts, who.registry, who.principal, cve_id, position)


ROUTES = [get_vulnerabilities, vulnerability_history, cve_artifacts]
