"""Harbor's CVE export executions: the caller's own list, one of them, and its CSV file (the
findings of the export's projects as of the moment it was asked for, with Harbor's columns).
Another user's execution id is a 404."""

import csv
import fnmatch
import io
import json

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from domain.errors import BadRequest, NotFound
from infra.http.export_owner import export_owner
from infra.http.rest import caller

CSV_COLUMNS = ("Scanner", "Repository", "Artifact Digest", "CVE", "Package", "Current Version",
               "Fixed in version", "Severity", "CWE Ids", "CVSS3 Score", "CVSS2 Score", "CVSS3 Vector",
               "CVSS2 Vector", "Tags")


def _execution(row) -> dict:
    return {"id": row.id, "user_id": row.owner_id, "user_name": row.owner, "status": "Success",
            "trigger": "MANUAL", "start_time": row.created_at, "end_time": row.created_at,
            "status_text": "", "file_present": True, "job_name": row.job_name}


async def _own(request: Request, execution_id: int):
    who = await caller(request)
    owner_id = await export_owner(who)
    row = await anyio.to_thread.run_sync(who.registry.cve_exports.one, execution_id, owner_id)
    if row is None:
        raise NotFound("export execution not found", {"execution_id": execution_id})
    return who, row


@get("/api/v2.0/export/cve/executions")
async def list_exports(request: Request) -> dict:
    who = await caller(request)
    owner_id = await export_owner(who)
    rows = await anyio.to_thread.run_sync(who.registry.cve_exports.of_owner, owner_id)
    return {"items": [_execution(r) for r in rows]}


@get("/api/v2.0/export/cve/execution/{execution_id:int}")
async def get_export(request: Request, execution_id: int = Parameter()) -> dict:
    _, row = await _own(request, execution_id)
    return _execution(row)


def _patterns(text: str) -> list[str]:
    """Harbor's comma-separated filter (`{a,b}` braces allowed); empty or `**`: everything."""
    text = text.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    parts = [p.strip() for p in text.split(",") if p.strip()]
    return [] if parts in ([], ["**"]) else parts


def _matches(value: str, patterns: list[str]) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(value, p.replace("**", "*")) for p in patterns)


def _csv(registry, row) -> bytes:
    queries = registry.cve_exports
    repositories, tags, cves = _patterns(row.repositories), _patterns(row.tags), set(_patterns(row.cve_ids))
    tags_of = queries.tags_at(row.projects, row.data_position)
    labelled: dict[tuple[str, str], set[int]] = {}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for scanner, repository, digest, cve, package, version, fix, severity, cvss, content in \
            queries.findings(row.projects, row.data_position):
        if cves and cve not in cves:
            continue
        if not _matches(repository.split("/", 1)[1], repositories):
            continue
        artifact_tags = tags_of.get((repository, digest), [])
        if tags and not any(_matches(t, tags) for t in artifact_tags):
            continue
        if row.labels:
            if (repository, digest) not in labelled:
                found = registry.labels.of_artifacts(repository, [digest], row.data_position)
                labelled[(repository, digest)] = {label.id for label in found.get(digest, [])}
            if not labelled[(repository, digest)] & set(row.labels):
                continue
        extra = json.loads(content)
        vector = extra.get("cvss_vector", "")
        writer.writerow([scanner, repository, digest, cve, package, version, fix, severity,
                         ",".join(extra.get("cwe_ids", [])), "" if cvss is None else cvss, "",
                         vector if vector.startswith("CVSS:3") else "", "", ",".join(artifact_tags)])
    return out.getvalue().encode()


@get("/api/v2.0/export/cve/download/{execution_id:int}")
async def download_export(request: Request, execution_id: int = Parameter(),
                          format: FromQuery[str] = "csv") -> Response:
    """The export's file, in CSV (Harbor's only format)."""
    if format.lower() != "csv":
        raise BadRequest("format must be csv", {"format": format[:16]})
    who, row = await _own(request, execution_id)
    body = await anyio.to_thread.run_sync(_csv, who.registry, row)
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{row.job_name or "export"}-{row.id}.csv"'
                             .replace("\n", "")})


ROUTES = [list_exports, get_export, download_export]
