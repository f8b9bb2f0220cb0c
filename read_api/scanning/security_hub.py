"""Harbor's Security Hub: `GET /security/summary` (SecuritySummary) and `GET /security/vul`
(ListVulnerabilities), over the latest report of every artifact. System administrators, or a
robot with the system `security-hub` read permission (the route table says so)."""

import json

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery

from domain.errors import BadRequest
from infra.http.rest import caller, paged, paging
from infra.schemas.query_language import parse_query, to_sql

Q_KEYS = {"cve_id", "cvss_score_v3", "severity", "status", "repository_name", "project_id", "package", "tag",
          "digest"}
COLUMNS = {"cve_id": "f.cve_id", "cvss_score_v3": "f.cvss_v3", "severity": "f.severity",
           "repository_name": "f.repository", "project_id": "f.project", "package": "f.package",
           "digest": "f.digest"}
TUNED = 1000


def _project_ids(registry) -> dict[str, int]:
    projects, _ = registry.queries.projects(0, 1 << 62, None)
    return {p.name: p.project_id for p in projects}


def _summary(registry, with_cve: bool, with_artifact: bool) -> dict:
    hub = registry.security_hub
    answer = hub.totals()
    if with_cve:
        answer["dangerous_cves"] = [
            {"cve_id": cve, "severity": severity, "cvss_score_v3": score,
             "desc": json.loads(content).get("description", ""), "package": package, "version": version}
            for cve, severity, score, package, version, content in hub.dangerous_cves()]
    if with_artifact:
        ids = _project_ids(registry)
        answer["dangerous_artifacts"] = [
            {"project_id": ids.get(project, 0), "repository_name": repository, "digest": digest,
             "critical_cnt": critical, "high_cnt": high, "medium_cnt": medium}
            for project, repository, digest, critical, high, medium in hub.dangerous_artifacts()]
    return answer


@get("/api/v2.0/security/summary")
async def security_summary(request: Request, with_dangerous_cve: FromQuery[bool] = False,
                           with_dangerous_artifact: FromQuery[bool] = False) -> dict:
    """Counts of the current findings of every scanned artifact, by severity."""
    who = await caller(request)
    return await anyio.to_thread.run_sync(_summary, who.registry, with_dangerous_cve, with_dangerous_artifact)


def _terms(registry, q: str | None) -> tuple[str, list, str | None]:
    terms, tag, kept = parse_query(q, Q_KEYS), None, []
    ids = None
    for term in terms:
        if term.key == "tag":
            if term.op != "eq":
                raise BadRequest("tag takes an exact value", {"q": "tag"})
            tag = term.value
        elif term.key == "status":
            continue  # Harbor's status filter: every current finding is open here
        elif term.key == "cvss_score_v3":
            if term.op != "range":
                raise BadRequest("cvss_score_v3 takes a range such as [7.0~10]", {"q": "cvss_score_v3"})
            try:
                low, high = (None if v is None else float(v) for v in term.value)
            except ValueError:
                raise BadRequest("cvss_score_v3 bounds must be numbers", {"q": "cvss_score_v3"})
            kept.append(term.__class__(term.key, "range", (low, high)))
        elif term.key == "project_id":
            if term.op != "eq" or not (term.value.isascii() and term.value.isdigit()) or len(term.value) > 18:
                raise BadRequest("project_id must be a project id", {"q": "project_id"})
            ids = ids or {v: k for k, v in _project_ids(registry).items()}
            kept.append(term.__class__(term.key, "eq", ids.get(int(term.value), "\x00none")))
        else:
            kept.append(term)
    where, params = to_sql(kept, COLUMNS)
    return where, params, tag


def _list(registry, q: str | None, offset: int, limit: int, tune_count: bool, with_tag: bool):
    where, params, tag = _terms(registry, q)
    rows, total = registry.security_hub.vulnerabilities(where, params, tag, offset, limit, True)
    if tune_count and total > TUNED:
        total = -1
    ids = _project_ids(registry)
    tags = registry.security_hub.tags_of(sorted({(r[1], r[2]) for r in rows})) if with_tag else {}
    items = []
    for project, repository, digest, cve, severity, score, package, version, fix, content in rows:
        extra = json.loads(content)
        item = {"project_id": ids.get(project, 0), "repository_name": repository,
                "digest": digest, "cve_id": cve, "severity": severity, "status": "",
                "cvss_v3_score": score or 0, "package": package, "version": version, "fixed_version": fix,
                "desc": extra.get("description", ""), "links": extra.get("links", [])}
        if with_tag:
            item["tags"] = tags.get((repository, digest), [])
        items.append(item)
    return items, total


@get("/api/v2.0/security/vul")
async def list_vulnerabilities(request: Request, q: FromQuery[str | None] = None, page: FromQuery[int] = 1,
                               page_size: FromQuery[int] = 10, tune_count: FromQuery[bool] = False,
                               with_tag: FromQuery[bool] = False) -> Response:
    """The current findings of every artifact, filtered by Harbor's `q` terms."""
    who = await caller(request)
    offset, limit = paging(page, page_size)
    items, total = await anyio.to_thread.run_sync(_list, who.registry, q, offset, limit, tune_count, with_tag)
    if total < 0:  # tune_count: more than Harbor would count
        return Response(items, headers={"X-Total-Count": "-1"})
    return paged(request, items, total, page, page_size)


ROUTES = [security_summary, list_vulnerabilities]
