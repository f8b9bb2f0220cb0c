"""GET routes of scanner registrations (system administrators), a project's scanner and its
candidates, an adapter's metadata, and a scan report's log.

Registrations are few and read from their one small stream (domain/scanning/registration.py),
not a view: ADR 0033. The credential never leaves: answers carry "******" when one is set.
"""

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from domain.errors import NotFound
from infra.http.rest import caller
from infra.http.resources import find_artifact, full_repository_name
from infra.http.scanners import (
    A, P, SCANNER_KEYS, SCANNERS, adapter_for, adapter_metadata, registration, registration_resp, registrations,
)
from infra.schemas.scanners import ScannerRegistration

@get(SCANNERS)
async def list_scanners(request: Request, q: FromQuery[str | None] = None, sort: FromQuery[str | None] = None,
                        page: FromQuery[int] = 1, page_size: FromQuery[int] = 10) -> Response:
    who = await caller(request)
    current = await registrations(who)
    items = [registration_resp(u, item, current.default) for u, item in current.items.items()]
    return SCANNER_KEYS.answer(request, sorted(items, key=lambda r: r.create_time), q, sort, page, page_size)


@get(SCANNERS + "/{registration_id:str}")
async def get_scanner(request: Request, registration_id: str = Parameter()) -> ScannerRegistration:
    who = await caller(request)
    current, item = await registration(who, registration_id)
    return registration_resp(registration_id, item, current.default)


@get(SCANNERS + "/{registration_id:str}/metadata")
async def scanner_metadata(request: Request, registration_id: str = Parameter()) -> dict:
    who = await caller(request)
    _, item = await registration(who, registration_id)
    return await anyio.to_thread.run_sync(adapter_metadata, adapter_for(who, item))


@get(P + "/scanner")
async def project_scanner(request: Request, project_name_or_id: str = Parameter()) -> ScannerRegistration:
    who = await caller(request)
    current = await registrations(who)
    uuid = current.for_project(who.project.name, who.project.project_id)
    if uuid is None:
        raise NotFound("no scanner is configured for this project")
    return registration_resp(uuid, current.items[uuid], current.default)


@get(P + "/scanner/candidates")
async def scanner_candidates(request: Request, project_name_or_id: str = Parameter(),
                             q: FromQuery[str | None] = None, sort: FromQuery[str | None] = None,
                             page: FromQuery[int] = 1, page_size: FromQuery[int] = 10) -> Response:
    """The registrations a project may choose (enabled ones)."""
    who = await caller(request)
    current = await registrations(who)
    items = [registration_resp(u, item, current.default) for u, item in current.items.items()
             if not item.get("disabled")]
    return SCANNER_KEYS.answer(request, sorted(items, key=lambda r: r.create_time), q, sort, page, page_size)


def report_log(row) -> str:
    lines = [f"{row.requested_at} scan of {row.repository}@{row.digest} ({row.kind}) requested by "
             f"{row.actor} (trigger {row.trigger}), scanner {row.scanner_name}"]
    if row.started_at:
        lines.append(f"{row.started_at} submitted to the scanner (request {row.scanner_request})")
    if row.status == "Success" and row.kind == "sbom":
        lines.append(f"{row.ended_at} SBOM received (scanner version {row.scanner_version or 'unknown'}) and "
                     "stored as the artifact's SBOM accessory")
    elif row.status == "Success":
        total = (row.summary or {}).get("total", 0)
        lines.append(f"{row.ended_at} report received: {total} vulnerabilities (scanner version "
                     f"{row.scanner_version or 'unknown'})")
    elif row.status in ("Error", "Stopped"):
        lines.append(f"{row.ended_at} {row.status.lower()}: {row.reason}")
    else:
        lines.append(f"status: {row.status}")
    return "\n".join(lines) + "\n"


@get(A + "/scan/{report_id:str}/log", media_type="text/plain")
async def scan_log(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                   reference: str = Parameter(), report_id: str = Parameter()) -> str:
    who = await caller(request)
    name = full_repository_name(who.project.name, repository_name)
    artifact = await find_artifact(who.registry, name, reference, None)
    row = await anyio.to_thread.run_sync(who.registry.scan_runs.by_key, report_id[:64])
    generation = await anyio.to_thread.run_sync(who.registry.commands.generation, name)
    if row is None or (row.repository, row.digest, row.generation) != (name, artifact.digest, generation):
        raise NotFound("scan report not found", {"report_id": report_id[:64]})
    return report_log(row)


ROUTES = [list_scanners, get_scanner, scanner_metadata, project_scanner, scanner_candidates, scan_log]
