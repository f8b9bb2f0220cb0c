"""GET routes of registry endpoints and replication adapters (Harbor's /registries and
/replication/adapters, /replication/adapterinfos).

Endpoints are few and read from their one small stream (domain/replication/setup.py), as
scanner registrations are (ADR 0036). A registry's status is a ping made for the answer
(a few seconds at most; a list reuses one made in the last 30 s); its secret never leaves
("*****" when one is set).
"""

import time
from concurrent.futures import ThreadPoolExecutor

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from domain.replication.endpoints import SUPPORTED
from infra.http.replication import (
    REGISTRIES, REGISTRY_KEYS, REPLICATION, client_of, current_setup, health, registry_resp, stored_registry,
)
from infra.http.rest import caller
from infra.schemas.replication import FilterStyle, Registry, RegistryInfo

DESCRIPTIONS = {
    "docker-registry": "any registry that speaks the OCI Distribution API (Basic or token auth)",
    "harbor": "Harbor (or another Tidemark): the Distribution API, with destination projects created",
    "docker-hub": "Docker Hub (official images under library/)",
    "github-ghcr": "GitHub Container Registry",
    "quay": "Quay",
    "gitlab": "GitLab container registry",
}


# A Tidemark peer (type harbor) also takes metadata (ADR 0039); a Harbor answers such a
# policy's batches 404, which its task reports.
RESOURCES = (["image", "artifact"], ["image", "artifact", "metadata"])

STATUS_SECONDS = 30.0  # a list shows a status this old rather than pinging every registry again
_seen: dict[tuple[int, str], tuple[float, str]] = {}


def _statuses(registry, items: list[tuple[int, dict]]) -> dict[int, str]:
    now = time.monotonic()
    known = {i: _seen[(i, item["updated"])][1] for i, item in items
             if now - _seen.get((i, item["updated"]), (-STATUS_SECONDS, ""))[0] < STATUS_SECONDS}
    asked = [(i, item) for i, item in items if i not in known]
    if asked:
        secret = registry.replication.secret
        with ThreadPoolExecutor(min(16, len(asked))) as pool:
            found = pool.map(lambda pair: health(client_of(pair[1], secret(pair[1]), timeout=3.0)), asked)
            for (i, item), status in zip(asked, found):
                _seen[(i, item["updated"])] = (now, status)
                known[i] = status
    return known


@get(REGISTRIES)
async def list_registries(request: Request, name: FromQuery[str | None] = None, q: FromQuery[str | None] = None,
                          sort: FromQuery[str | None] = None, page: FromQuery[int] = 1,
                          page_size: FromQuery[int] = 10) -> Response:
    who = await caller(request)
    setup = await current_setup(who)
    items = sorted(setup.registries.items())
    if name:
        items = [(i, item) for i, item in items if name in item["name"]]
    statuses = await anyio.to_thread.run_sync(_statuses, who.registry, items)
    answers = [registry_resp(i, item, statuses[i]) for i, item in items]
    return REGISTRY_KEYS.answer(request, answers, q, sort, page, page_size)


@get(REGISTRIES + "/{id:int}")
async def get_registry(request: Request, id: int = Parameter()) -> Registry:
    who = await caller(request)
    _, item = await stored_registry(who, id)
    status = await anyio.to_thread.run_sync(health, client_of(item, who.registry.replication.secret(item), 3.0))
    return registry_resp(id, item, status)


@get(REGISTRIES + "/{id:int}/info")
async def get_registry_info(request: Request, id: int = Parameter()) -> RegistryInfo:
    """What a policy with this registry may say: its filters and triggers."""
    who = await caller(request)
    _, item = await stored_registry(who, id)
    return RegistryInfo(type=item["type"], description=DESCRIPTIONS.get(item["type"], ""),
                        supported_resource_filters=[FilterStyle(type="name", style="input"),
                                                    FilterStyle(type="tag", style="input"),
                                                    FilterStyle(type="label", style="list"),
                                                    FilterStyle(type="resource", style="radio",
                                                                values=RESOURCES[item["type"] == "harbor"])],
                        supported_triggers=["manual", "scheduled", "event_based"], supported_copy_by_chunk=True)


@get(REPLICATION + "/adapters")
async def list_adapters(request: Request) -> list[str]:
    await caller(request)
    return list(SUPPORTED)


@get(REPLICATION + "/adapterinfos")
async def list_adapter_infos(request: Request) -> dict:
    """Per supported type, the endpoint and credential patterns a form offers (Harbor's
    RegistryProviderInfo). The cloud registries Harbor has adapters for are not supported."""
    await caller(request)
    infos = {}
    for kind, url in SUPPORTED.items():
        endpoint = ({"endpoint_type": "EndpointPatternTypeFix", "endpoints": [{"key": kind, "value": url}]}
                    if url else {"endpoint_type": "EndpointPatternTypeStandard", "endpoints": []})
        infos[kind] = {"endpoint_pattern": endpoint,
                       "credential_pattern": {"access_key_type": "AccessKeyTypeStandard", "access_key_data": "",
                                              "access_secret_type": "AccessSecretTypeStandard",
                                              "access_secret_data": ""}}
    return infos


ROUTES = [list_registries, get_registry, get_registry_info, list_adapters, list_adapter_infos]
