"""Routes that add and remove a project's trusted signing keys."""

from typing import Any

from litestar import Request, Response, delete, post
from litestar.params import JSONBody, Parameter

from commands.trusted_keys import AddTrustedKey, RemoveTrustedKey
from domain.errors import BadRequest
from domain.signing.trusted_keys import check_fingerprint
from infra.http.rest import caller

KEYS = "/api/v2.0/projects/{project_name_or_id:str}/trusted-keys"


@post(KEYS, status_code=201)
async def add_trusted_key(request: Request, data: JSONBody[Any], project_name_or_id: str = Parameter()) -> Response:
    """Body: `{"name": ..., "public_key": "<PEM>"}`; answers the key's fingerprint."""
    who = await caller(request)
    if not isinstance(data, dict):
        raise BadRequest("the body must be an object with name and public_key", {"field": "public_key"})
    outcome = await who.registry.run(who.registry.trusted_key_commands.add, AddTrustedKey(
        who.project.name, data.get("name"), data.get("public_key"), who.actor))
    location = f"/api/v2.0/projects/{who.project.project_id}/trusted-keys/{outcome.fingerprint}"
    return Response({"fingerprint": outcome.fingerprint}, status_code=201, headers={"Location": location})


@delete(KEYS + "/{fingerprint:str}", status_code=200)
async def remove_trusted_key(request: Request, project_name_or_id: str = Parameter(),
                             fingerprint: str = Parameter()) -> None:
    who = await caller(request)
    await who.registry.run(who.registry.trusted_key_commands.remove, RemoveTrustedKey(
        who.project.name, check_fingerprint(fingerprint), who.actor))
