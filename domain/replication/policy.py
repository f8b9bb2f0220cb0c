"""What a replication policy may say (Harbor's ReplicationPolicy), and the checks of it.

One side of a policy is this registry (registry id 0, as Harbor's "local" registry): a push
policy copies local repositories to `dest_registry`, a pull policy copies `src_registry`'s
repositories here. Tidemark adds the retry contract to a policy: `retry_attempts` tries of a
copy that meets a retryable fault, waiting `retry_backoff_seconds` doubling between them.
"""

import msgspec

from domain.cron import check_cron
from domain.errors import BadRequest
from domain.names import check_text
from domain.replication.selection import Filter, check_filters, check_namespace, is_metadata

TRIGGERS = ("manual", "scheduled", "event_based")
LOCAL = 0
MAX_NAME, MAX_DESCRIPTION = 256, 1024


class PolicySpec(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str = ""
    src_registry_id: int = LOCAL
    dest_registry_id: int = LOCAL
    dest_namespace: str = ""
    dest_namespace_replace_count: int = -1
    trigger: str = "manual"
    cron: str = ""
    filters: list[Filter] = []
    replicate_deletion: bool = False
    override: bool = True
    enabled: bool = True
    speed: int = 0  # KB/s per task, 0: unlimited
    copy_by_chunk: bool = False
    single_active_replication: bool = False
    retry_attempts: int = 3
    retry_backoff_seconds: float = 2.0

    @property
    def direction(self) -> str:
        return "pull" if self.src_registry_id != LOCAL else "push"

    @property
    def remote_id(self) -> int:
        return self.src_registry_id or self.dest_registry_id


def check_policy(spec: PolicySpec) -> PolicySpec:
    """The spec if every field is acceptable (registries are checked by the aggregate)."""
    name = spec.name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise BadRequest(f"name: 1 to {MAX_NAME} characters are required", {"field": "name"})
    check_text(name, "name")
    if len(spec.description) > MAX_DESCRIPTION:
        raise BadRequest(f"description: at most {MAX_DESCRIPTION} characters", {"field": "description"})
    check_text(spec.description, "description", multiline=True)
    if (spec.src_registry_id == LOCAL) == (spec.dest_registry_id == LOCAL):
        raise BadRequest("src_registry, dest_registry: exactly one of them is another registry "
                         "(the other side is this registry)", {"field": "dest_registry"})
    if spec.trigger not in TRIGGERS:
        raise BadRequest("trigger.type: one of " + ", ".join(TRIGGERS), {"field": "trigger.type"})
    cron = spec.cron.strip()
    if spec.trigger == "scheduled":
        check_cron(cron, "trigger.trigger_settings.cron")
    else:
        cron = ""
    if spec.trigger == "event_based" and spec.direction == "pull":
        raise BadRequest("trigger.type: event_based replication pushes this registry's changes; a "
                         "pull policy is manual or scheduled", {"field": "trigger.type"})
    namespace = check_namespace(spec.dest_namespace, spec.dest_namespace_replace_count)
    if is_metadata(spec.filters):
        if spec.direction == "pull" or namespace or any(f.type in ("tag", "label") for f in spec.filters):
            raise BadRequest("filters: a metadata policy pushes to another Tidemark, with a name filter on "
                             "project names only (no tag or label filter, no dest_namespace)",
                             {"field": "filters"})
    if not 0 <= spec.speed <= 10_000_000:
        raise BadRequest("speed: KB/s from 0 (unlimited) to 10000000", {"field": "speed"})
    if not 1 <= spec.retry_attempts <= 20:
        raise BadRequest("retry_attempts: 1 to 20", {"field": "retry_attempts"})
    if not 0 <= spec.retry_backoff_seconds <= 3600:
        raise BadRequest("retry_backoff_seconds: 0 to 3600", {"field": "retry_backoff_seconds"})
    return msgspec.structs.replace(spec, name=name, cron=cron, dest_namespace=namespace,
                                   filters=check_filters(spec.filters))
