"""Routes that start and stop a scan of an artifact (Harbor's scanArtifact, stopScanArtifact):
`scan_type` "vulnerability" (the default) or "sbom" (an SBOM stored as the image's accessory).

A request records Scan Requested and answers 202; the scan worker does the rest. A refused
request records nothing."""

import anyio.to_thread
import msgspec
from litestar import Request, post
from litestar.params import Parameter

from commands.scanning.runs import RequestScan, StopScan
from domain.errors import BadRequest, Unprocessable
from domain.scanning.reports import can_scan
from domain.scanning.scan import KINDS
from infra.http.rest import caller
from infra.http.resources import find_artifact, full_repository_name
from infra.schemas.scanners import ScanType
from infra.http.scanners import A


async def _scan_type(request: Request, required: bool) -> str:
    body = await request.body()
    if not body.strip():
        if required:
            raise BadRequest("scan_type: the body must name the scan type", {"field": "scan_type"})
        return "vulnerability"
    try:
        kind = msgspec.json.decode(body, type=ScanType).scan_type
    except msgspec.DecodeError as error:
        raise BadRequest(f"the body is not a ScanType: {str(error)[:200]}")
    if kind not in KINDS:
        raise BadRequest(f"scan_type: one of {', '.join(KINDS)}", {"field": "scan_type"})
    return kind


async def _artifact(who, repository_name: str, reference: str):
    name = full_repository_name(who.project.name, repository_name)
    artifact = await find_artifact(who.registry, name, reference, None)
    generation = await anyio.to_thread.run_sync(who.registry.commands.generation, name)
    return name, artifact, generation


@post(A + "/scan", status_code=202)
async def scan_artifact(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                        reference: str = Parameter()) -> None:
    who = await caller(request)
    kind = await _scan_type(request, required=False)
    name, artifact, generation = await _artifact(who, repository_name, reference)
    if not can_scan(kind, artifact.media_type, artifact.artifact_type):
        what = "have an SBOM generated" if kind == "sbom" else "be scanned"
        raise Unprocessable(f"artifacts of type {(artifact.artifact_type or artifact.media_type)[:100]} "
                            f"cannot {what}")
    registry = who.registry
    latest = await anyio.to_thread.run_sync(registry.scan_runs.latest, name, artifact.digest, generation, kind)
    await registry.run(lambda c: registry.scan_commands.request(c)[1], RequestScan(
        who.project.name, who.project.project_id, name, artifact.digest, generation, artifact.media_type, kind,
        "manual", who.actor, latest.run if latest else 0))
    registry.scan_worker.wake()


@post(A + "/scan/stop", status_code=202)
async def stop_scan(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                    reference: str = Parameter()) -> None:
    who = await caller(request)
    kind = await _scan_type(request, required=True)
    name, artifact, generation = await _artifact(who, repository_name, reference)
    registry = who.registry
    latest = await anyio.to_thread.run_sync(registry.scan_runs.latest, name, artifact.digest, generation, kind)
    await registry.run(registry.scan_commands.stop, StopScan(name, artifact.digest, generation, kind, who.actor,
                                                             latest.run if latest else 0))


ROUTES = [scan_artifact, stop_scan]
