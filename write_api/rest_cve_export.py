"""Harbor's CVE export: `POST /export/cve` asks for an export of some projects' findings (the
caller must hold the `export-cve` create right in each, Harbor's project administrators), and
`DELETE /export/cve/execution/{id}` (Tidemark's) removes the caller's own execution."""

import anyio.to_thread
import msgspec
from litestar import Request, delete, post
from litestar.params import JSONBody, Parameter

from commands.cve_export_handlers import DeleteCveExport, RequestCveExport
from domain.errors import BadRequest, NotFound
from infra.http.export_owner import export_owner
from infra.http.rest import caller
from infra.http.rest_guard import project_by_id

REPORT_TYPE = "application/vnd.security.vulnerability.report; version=1.1"


class ExportRequest(msgspec.Struct, forbid_unknown_fields=False):
    job_name: str = ""
    projects: list[int] = []
    labels: list[int] = []
    repositories: str = ""
    cveIds: str = ""
    tags: str = ""


@post("/api/v2.0/export/cve", status_code=200)
async def export_cve(request: Request, data: JSONBody[dict]) -> dict:
    """Record an export of the current findings of the projects named by id; answer its id."""
    who = await caller(request)
    owner_id = await export_owner(who)
    data_type = request.headers.get("x-scan-data-type", REPORT_TYPE)
    if data_type != REPORT_TYPE:
        raise BadRequest(f"X-Scan-Data-Type must be {REPORT_TYPE}", {"header": "X-Scan-Data-Type"})
    try:
        body = msgspec.convert(data, ExportRequest)
    except msgspec.ValidationError as error:
        raise BadRequest(f"invalid export request: {error}")
    if not body.projects:
        raise BadRequest("projects must name at least one project id", {"field": "projects"})
    names = []
    for project_id in dict.fromkeys(body.projects):
        names.append((await project_by_id(who, project_id, "export-cve", "create")).name)
    outcome = await who.registry.run(who.registry.cve_export_commands.request, RequestCveExport(
        body.job_name, who.principal.name, owner_id, names, list(body.labels), body.repositories, body.cveIds,
        body.tags, who.actor))
    return {"id": outcome.position}


@delete("/api/v2.0/export/cve/execution/{execution_id:int}", status_code=200)
async def delete_export(request: Request, execution_id: int = Parameter()) -> None:
    who = await caller(request)
    owner_id = await export_owner(who)
    row = await anyio.to_thread.run_sync(who.registry.cve_exports.one, execution_id, owner_id)
    if row is None:
        raise NotFound("export execution not found", {"execution_id": execution_id})
    await who.registry.run(who.registry.cve_export_commands.delete, DeleteCveExport(row.stream, who.actor))


ROUTES = [export_cve, delete_export]
