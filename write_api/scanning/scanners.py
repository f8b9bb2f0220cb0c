"""Routes that change scanner registrations (system administrators) and a project's scanner."""

import anyio.to_thread
import msgspec
from litestar import Request, Response, delete, patch, post, put
from litestar.params import JSONBody, Parameter

from commands.scanning.registrations import (
    ChangeScanner, ChooseDefaultScanner, ChooseProjectScanner, RegisterScanner, RemoveScanner,
)
from domain.errors import BadRequest
from domain.scanning.registration import ScannerSpec, check_spec
from domain.webhooks.targets import REDACTED
from infra.http.rest import caller
from infra.schemas.scanners import IsDefault, ProjectScanner, ScannerRegistration, ScannerRegistrationReq
from infra.http.scanners import P, SCANNERS, adapter_metadata, registration, registration_resp
from infra.scanner.adapter_client import AdapterClient


def spec_of(body: ScannerRegistrationReq) -> ScannerSpec:
    credential = "" if body.access_credential == REDACTED else body.access_credential
    return ScannerSpec(name=body.name, url=body.url, description=body.description, auth=body.auth,
                       access_credential=credential, skip_cert_verify=body.skip_certVerify,
                       use_internal_addr=body.use_internal_addr, disabled=body.disabled)


@post(SCANNERS, status_code=201)
async def create_scanner(request: Request, data: JSONBody[ScannerRegistrationReq]) -> Response:
    who = await caller(request)
    registry = who.registry
    uuid, _ = await anyio.to_thread.run_sync(registry.scanners.register, RegisterScanner(spec_of(data), who.actor))
    return Response(None, status_code=201, headers={"Location": f"{SCANNERS}/{uuid}"})


@put(SCANNERS + "/{registration_id:str}")
async def update_scanner(request: Request, data: JSONBody[ScannerRegistrationReq],
                         registration_id: str = Parameter()) -> None:
    who = await caller(request)
    await registration(who, registration_id)
    await anyio.to_thread.run_sync(who.registry.scanners.change,
                                   ChangeScanner(registration_id, spec_of(data), who.actor))


@delete(SCANNERS + "/{registration_id:str}", status_code=200)
async def delete_scanner(request: Request, registration_id: str = Parameter()) -> ScannerRegistration:
    """Harbor answers with the deleted registration; the default one cannot be deleted."""
    who = await caller(request)
    current, _ = await registration(who, registration_id)
    item, _ = await anyio.to_thread.run_sync(who.registry.scanners.remove,
                                             RemoveScanner(registration_id, who.actor))
    return registration_resp(registration_id, item, current.default)


@patch(SCANNERS + "/{registration_id:str}")
async def set_default_scanner(request: Request, data: JSONBody[IsDefault], registration_id: str = Parameter()) -> None:
    who = await caller(request)
    await registration(who, registration_id)
    if not data.is_default:
        raise BadRequest("is_default: only true is accepted; make another registration the default "
                         "instead", {"field": "is_default"})
    await anyio.to_thread.run_sync(who.registry.scanners.choose_default,
                                   ChooseDefaultScanner(registration_id, who.actor))


@post(SCANNERS + "/ping", status_code=200)
async def ping_scanner(request: Request, data: JSONBody[ScannerRegistrationReq]) -> None:
    """Ask the adapter for its metadata with these settings (nothing is recorded)."""
    await caller(request)
    spec = check_spec(msgspec.structs.replace(spec_of(data), name=data.name or "ping"))
    client = AdapterClient(spec.url, spec.auth, spec.access_credential, verify=not spec.skip_cert_verify,
                           timeout=10.0)
    await anyio.to_thread.run_sync(adapter_metadata, client)


@put(P + "/scanner")
async def set_project_scanner(request: Request, data: JSONBody[ProjectScanner],
                              project_name_or_id: str = Parameter()) -> None:
    who = await caller(request)
    project = who.project
    await anyio.to_thread.run_sync(who.registry.scanners.choose_for_project, ChooseProjectScanner(
        project.name, project.project_id, data.uuid, who.actor))


ROUTES = [create_scanner, update_scanner, delete_scanner, set_default_scanner, ping_scanner, set_project_scanner]
