"""Routes that change replication policies (Harbor's /replication/policies)."""

import anyio.to_thread
from litestar import Request, Response, delete, post, put
from litestar.params import JSONBody, Parameter

from commands.replication.setup import ChangePolicy, CreatePolicy, RemovePolicy
from domain.errors import BadRequest, PreconditionFailed
from domain.replication.policy import PolicySpec
from domain.replication.selection import Filter
from infra.http.replication import POLICIES, stored_policy
from infra.http.rest import caller
from infra.schemas.replication import ReplicationPolicyReq


def spec_of(body: ReplicationPolicyReq) -> PolicySpec:
    trigger = body.trigger.type if body.trigger else "manual"
    cron = body.trigger.trigger_settings.cron if body.trigger and body.trigger.trigger_settings else ""
    deletion = body.replicate_deletion if body.replicate_deletion is not None else bool(body.deletion)
    filters = []
    for f in body.filters or []:
        if not isinstance(f.value, (str, list)) and f.value is not None:
            raise BadRequest("filters.value: a string, or a list of label names", {"field": "filters.value"})
        filters.append(Filter(type=f.type, value=f.value, decoration=f.decoration or "matches",
                              kind=f.kind or "doublestar"))
    return PolicySpec(
        name=body.name, description=body.description,
        src_registry_id=body.src_registry.id if body.src_registry else 0,
        dest_registry_id=body.dest_registry.id if body.dest_registry else 0,
        dest_namespace=body.dest_namespace, dest_namespace_replace_count=body.dest_namespace_replace_count,
        trigger=trigger or "manual", cron=cron or "", filters=filters, replicate_deletion=deletion,
        override=body.override, enabled=body.enabled, speed=max(body.speed or 0, 0),  # Harbor writes -1 for unlimited
        copy_by_chunk=body.copy_by_chunk, single_active_replication=body.single_active_replication,
        retry_attempts=body.retry_attempts, retry_backoff_seconds=body.retry_backoff_seconds)


def _not_into_itself(registry, spec: PolicySpec) -> None:
    """A push to this registry's own address copies a project into itself."""
    setup = registry.replication.current()
    remote = setup.registries.get(spec.remote_id)
    if remote and remote["url"].rstrip("/").lower() == registry.external_url.rstrip("/").lower():
        raise BadRequest("dest_registry: the registry is this Tidemark; a policy cannot replicate a project "
                         "into itself", {"field": "dest_registry"})


@post(POLICIES, status_code=201)
async def create_policy(request: Request, data: JSONBody[ReplicationPolicyReq]) -> Response:
    who = await caller(request)
    registry = who.registry
    spec = spec_of(data)
    _not_into_itself(registry, spec)
    policy_id, _ = await anyio.to_thread.run_sync(registry.replication.create_policy, CreatePolicy(spec, who.actor))
    registry.replication_worker.wake()
    return Response(None, status_code=201, headers={"Location": f"{POLICIES}/{policy_id}"})


@put(POLICIES + "/{id:int}")
async def update_policy(request: Request, data: JSONBody[ReplicationPolicyReq], id: int = Parameter()) -> None:
    who = await caller(request)
    registry = who.registry
    _, item = await stored_policy(who, id)
    spec = spec_of(data)
    if not data.name:
        spec = PolicySpec(**{**{f: getattr(spec, f) for f in PolicySpec.__struct_fields__}, "name": item["name"]})
    _not_into_itself(registry, spec)
    await anyio.to_thread.run_sync(registry.replication.change_policy, ChangePolicy(id, spec, who.actor))
    registry.replication_worker.wake()


@delete(POLICIES + "/{id:int}", status_code=200)
async def delete_policy(request: Request, id: int = Parameter()) -> None:
    """412 while an execution of the policy runs (Harbor)."""
    who = await caller(request)
    registry = who.registry
    await stored_policy(who, id)
    if await anyio.to_thread.run_sync(registry.executions.active_count, id):
        raise PreconditionFailed("the policy has a running execution; stop it first", {"policy_id": id})
    await anyio.to_thread.run_sync(registry.replication.remove_policy, RemovePolicy(id, who.actor))


ROUTES = [create_policy, update_policy, delete_policy]
