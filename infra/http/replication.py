"""What the registry and replication routes share: their paths, the answers (a secret never
leaves: "*****" when one is set), a client for a registry on behalf of a route, and the
lookups of policies and executions by their ids."""

import anyio.to_thread

from domain.errors import BadRequest, NotFound
from domain.replication.endpoints import SUPPORTED
from infra.http.listing import BOOL, INT, Key, Listing
from infra.replication.distribution import RegistryClient
from infra.replication.errors import ReplicationError
from infra.schemas.replication import (
    Registry, RegistryCredential, ReplicationExecution, ReplicationFilter, ReplicationPolicy, ReplicationTask,
    ReplicationTrigger, TriggerSettings,
)

API = "/api/v2.0"
REGISTRIES = API + "/registries"
REPLICATION = API + "/replication"
POLICIES = REPLICATION + "/policies"
EXECUTIONS = REPLICATION + "/executions"
METADATA = REPLICATION + "/metadata"
MASK = "*****"
REGISTRY_KEYS = Listing({"name": Key(), "type": Key(), "url": Key(), "description": Key(), "insecure": Key(BOOL),
                         "id": Key(INT), "creation_time": Key(), "update_time": Key()})
POLICY_KEYS = Listing({"name": Key(), "description": Key(), "enabled": Key(BOOL), "id": Key(INT),
                       "creation_time": Key(), "update_time": Key()})


def registry_resp(registry_id: int, item: dict, status: str = "") -> Registry:
    return Registry(
        id=registry_id, url=item["url"], name=item["name"], type=item["type"], insecure=item.get("insecure", False),
        ca_certificate=item.get("ca_certificate", ""), description=item.get("description", ""), status=status,
        credential=RegistryCredential(type=item.get("credential_type", "basic"), access_key=item.get("access_key", ""),
                                      access_secret=MASK if item.get("access_secret") else ""),
        creation_time=item["created"], update_time=item["updated"])


def local_registry(registry) -> Registry:
    """Harbor's "Local" registry: this one, id 0."""
    return Registry(id=0, url=registry.external_url, name="Local", type="harbor", status="healthy",
                    credential=RegistryCredential(type="secret", access_key="", access_secret=""))


def policy_resp(registry, setup, policy_id: int, item: dict) -> ReplicationPolicy:
    def side(registry_id: int):
        if registry_id == 0:
            return local_registry(registry)
        found = setup.registries.get(registry_id)
        return registry_resp(registry_id, found) if found else None

    trigger = ReplicationTrigger(type=item["trigger"], trigger_settings=TriggerSettings(cron=item.get("cron", "")))
    return ReplicationPolicy(
        id=policy_id, name=item["name"], description=item.get("description", ""),
        src_registry=side(item["src_registry_id"]), dest_registry=side(item["dest_registry_id"]),
        dest_namespace=item.get("dest_namespace", ""),
        dest_namespace_replace_count=item.get("dest_namespace_replace_count", -1), trigger=trigger,
        filters=[ReplicationFilter(type=f["type"], value=f["value"], decoration=f.get("decoration", "matches"),
                                   kind=f.get("kind", "doublestar")) for f in item.get("filters", [])],
        replicate_deletion=item.get("replicate_deletion", False), deletion=item.get("replicate_deletion", False),
        override=item.get("override", True), enabled=item.get("enabled", True),
        creation_time=item["created"], update_time=item["updated"], speed=item.get("speed", 0),
        copy_by_chunk=item.get("copy_by_chunk", False),
        single_active_replication=item.get("single_active_replication", False),
        retry_attempts=item.get("retry_attempts", 3), retry_backoff_seconds=item.get("retry_backoff_seconds", 2.0))


def execution_resp(row, counts: dict) -> ReplicationExecution:
    return ReplicationExecution(id=row.execution_id, policy_id=row.policy_id, status=row.status,
                                trigger=row.trigger, start_time=row.start_time, end_time=row.end_time,
                                status_text=row.status_text, **counts)


def task_resp(row) -> ReplicationTask:
    return ReplicationTask(id=row.task_id, execution_id=row.execution_id, status=row.status,
                           job_id=f"{row.execution_key}/{row.task_no}", operation=row.operation,
                           resource_type=row.resource_type, src_resource=row.src_resource,
                           dst_resource=row.dst_resource, start_time=row.start_time, end_time=row.end_time)


async def current_setup(who):
    return await anyio.to_thread.run_sync(who.registry.replication.current)


async def stored_registry(who, registry_id: int):
    setup = await current_setup(who)
    return setup, setup.registry(registry_id)


async def stored_policy(who, policy_id: int):
    setup = await current_setup(who)
    return setup, setup.policy(policy_id)


def execution_row(registry, execution_id: int):
    row = registry.executions.get(execution_id)
    if row is None:
        raise NotFound("replication execution not found", {"execution_id": execution_id})
    return row


def client_of(item: dict, secret: str, timeout: float = 10.0) -> RegistryClient:
    return RegistryClient(item["url"] or SUPPORTED.get(item.get("type", ""), ""), username=item.get("access_key", ""),
                          password=secret, insecure=item.get("insecure", False), timeout=timeout,
                          ca_certificate=item.get("ca_certificate", ""))


def health(client: RegistryClient) -> str:
    try:
        client.ping()
        return "healthy"
    except ReplicationError:
        return "unhealthy"
    finally:
        client.close()


def ping_or_refuse(client: RegistryClient) -> None:
    try:
        client.ping()
    except ReplicationError as error:
        raise BadRequest(f"failed to ping the registry: {error}")
    finally:
        client.close()
