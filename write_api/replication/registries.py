"""Routes that change registry endpoints (Harbor's /registries), and ping one.

A secret sent back as the mask ("*****") or left out keeps the stored one for the same
access key. Nothing is recorded by a ping.
"""

import anyio.to_thread
from litestar import Request, Response, delete, post, put
from litestar.params import JSONBody, Parameter

from commands.replication.setup import AddRegistry, ChangeRegistry, RemoveRegistry
from domain.errors import BadRequest, PreconditionFailed
from domain.replication.endpoints import EndpointSpec, check_endpoint
from infra.http.replication import MASK, REGISTRIES, client_of, ping_or_refuse, stored_registry
from infra.http.rest import caller
from infra.schemas.replication import Registry, RegistryPing, RegistryUpdate


def _secret(value: str | None) -> str:
    return "" if value in (None, MASK) else value


@post(REGISTRIES, status_code=201)
async def create_registry(request: Request, data: JSONBody[Registry]) -> Response:
    who = await caller(request)
    registry = who.registry
    credential = data.credential
    spec = EndpointSpec(name=data.name, url=data.url, type=data.type or "docker-registry",
                        description=data.description,
                        credential_type=(credential.type if credential else "basic") or "basic",
                        access_key=credential.access_key if credential else "",
                        access_secret=_secret(credential.access_secret if credential else ""),
                        insecure=data.insecure, ca_certificate=data.ca_certificate)
    registry_id, _ = await anyio.to_thread.run_sync(registry.replication.add_registry, AddRegistry(
        spec, registry.settings.replication_allow_link_local, who.actor))
    return Response(None, status_code=201, headers={"Location": f"{REGISTRIES}/{registry_id}"})


def _overlaid(item: dict, update: RegistryUpdate | RegistryPing) -> EndpointSpec:
    def given(field: str, stored):
        value = getattr(update, field, None)
        return stored if value is None else value

    return EndpointSpec(name=given("name", item.get("name", "")), url=given("url", item.get("url", "")),
                        type=given("type", item.get("type", "docker-registry")),
                        description=given("description", item.get("description", "")),
                        credential_type=given("credential_type", item.get("credential_type", "basic")),
                        access_key=given("access_key", item.get("access_key", "")),
                        access_secret=_secret(update.access_secret), insecure=given("insecure", item.get("insecure", False)),
                        ca_certificate=given("ca_certificate", item.get("ca_certificate", "")))


@put(REGISTRIES + "/{id:int}")
async def update_registry(request: Request, data: JSONBody[RegistryUpdate], id: int = Parameter()) -> None:
    who = await caller(request)
    registry = who.registry
    _, item = await stored_registry(who, id)
    await anyio.to_thread.run_sync(registry.replication.change_registry, ChangeRegistry(
        id, _overlaid(item, data), registry.settings.replication_allow_link_local, who.actor))


@delete(REGISTRIES + "/{id:int}", status_code=200)
async def delete_registry(request: Request, id: int = Parameter()) -> None:
    """412 while a policy or a proxy-cache project uses the registry (Harbor)."""
    who = await caller(request)
    await stored_registry(who, id)
    proxies = await anyio.to_thread.run_sync(who.registry.proxy.projects.using, id)
    if proxies:
        raise PreconditionFailed(f"registry {id} is the upstream of proxy-cache projects "
                                 f"{', '.join(proxies[:10])}; delete them first", {"registry_id": id})
    await anyio.to_thread.run_sync(who.registry.replication.remove_registry, RemoveRegistry(id, who.actor))


@post(REGISTRIES + "/ping", status_code=200)
async def ping_registry(request: Request, data: JSONBody[RegistryPing]) -> None:
    """Reach the registry with these settings (a stored one's, overlaid by what is given)."""
    who = await caller(request)
    registry = who.registry
    stored: dict = {}
    if data.id:
        _, stored = await stored_registry(who, data.id)
    elif not data.url and not data.type:
        raise BadRequest("url: the registry to ping is required (or the id of a stored one)", {"field": "url"})
    spec = _overlaid({**stored, "name": stored.get("name", "ping")}, data)
    secret = _secret(data.access_secret)
    if not secret and stored and spec.access_key == stored.get("access_key"):
        secret = registry.replication.secret(stored)
    spec = check_endpoint(spec, registry.settings.replication_allow_link_local)
    fields = {"url": spec.url, "type": spec.type, "access_key": spec.access_key, "insecure": spec.insecure,
              "ca_certificate": spec.ca_certificate}
    await anyio.to_thread.run_sync(ping_or_refuse, client_of(fields, secret))


ROUTES = [create_registry, update_registry, delete_registry, ping_registry]
