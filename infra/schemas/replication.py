"""Wire shapes of registries and replication (Harbor's Registry, RegistryCredential,
RegistryUpdate, RegistryPing, RegistryInfo, RegistryProviderInfo, ReplicationPolicy,
ReplicationFilter, ReplicationTrigger, ReplicationExecution, StartReplicationExecution,
ReplicationTask). Secrets never leave: an answer's access_secret is "" or "*****"."""

import msgspec


class RegistryCredential(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    type: str = "basic"
    access_key: str = ""
    access_secret: str = ""


class Registry(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    id: int = 0
    url: str = ""
    name: str = ""
    credential: RegistryCredential | None = None
    type: str = "docker-registry"
    insecure: bool = False
    ca_certificate: str = ""
    description: str = ""
    status: str = ""
    creation_time: str = ""
    update_time: str = ""


class RegistryUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    name: str | None = None
    description: str | None = None
    url: str | None = None
    credential_type: str | None = None
    access_key: str | None = None
    access_secret: str | None = None
    insecure: bool | None = None
    ca_certificate: str | None = None


class RegistryPing(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    id: int | None = None
    type: str | None = None
    url: str | None = None
    credential_type: str | None = None
    access_key: str | None = None
    access_secret: str | None = None
    insecure: bool | None = None
    ca_certificate: str | None = None


class FilterStyle(msgspec.Struct, kw_only=True):
    type: str
    style: str
    values: list[str] | None = None


class RegistryInfo(msgspec.Struct, kw_only=True):
    type: str
    description: str
    supported_resource_filters: list[FilterStyle]
    supported_triggers: list[str]
    supported_copy_by_chunk: bool


class ReplicationFilter(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    type: str = ""
    value: object = None
    decoration: str = "matches"
    kind: str = "doublestar"  # Tidemark: "regex" for a regular expression on name or tag


class TriggerSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    cron: str = ""


class ReplicationTrigger(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    type: str = "manual"
    trigger_settings: TriggerSettings | None = None


class RegistryRef(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    id: int = 0


class ReplicationPolicyReq(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    name: str = ""
    description: str = ""
    src_registry: RegistryRef | None = None
    dest_registry: RegistryRef | None = None
    dest_namespace: str = ""
    dest_namespace_replace_count: int = -1
    trigger: ReplicationTrigger | None = None
    filters: list[ReplicationFilter] | None = None
    replicate_deletion: bool | None = None
    deletion: bool | None = None  # Harbor's older name of replicate_deletion
    override: bool = True
    enabled: bool = True
    speed: int | None = None
    copy_by_chunk: bool = False
    single_active_replication: bool = False
    retry_attempts: int = 3  # Tidemark: the retry contract of the policy's copies
    retry_backoff_seconds: float = 2.0


class ReplicationPolicy(msgspec.Struct, kw_only=True):
    id: int
    name: str
    description: str
    src_registry: Registry | None
    dest_registry: Registry | None
    dest_namespace: str
    dest_namespace_replace_count: int
    trigger: ReplicationTrigger
    filters: list[ReplicationFilter]
    replicate_deletion: bool
    deletion: bool
    override: bool
    enabled: bool
    creation_time: str
    update_time: str
    speed: int
    copy_by_chunk: bool
    single_active_replication: bool
    retry_attempts: int
    retry_backoff_seconds: float


class StartReplicationExecution(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    policy_id: int = 0


class ReplicationExecution(msgspec.Struct, kw_only=True):
    id: int
    policy_id: int
    status: str
    trigger: str
    start_time: str
    end_time: str | None
    status_text: str
    total: int
    failed: int
    succeed: int
    in_progress: int
    stopped: int


class ReplicationTask(msgspec.Struct, kw_only=True):
    id: int
    execution_id: int
    status: str
    job_id: str
    operation: str
    resource_type: str
    src_resource: str
    dst_resource: str
    start_time: str | None
    end_time: str | None
