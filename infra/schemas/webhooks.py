"""Harbor's webhook wire structs (WebhookPolicy, WebhookTargetObject, WebhookJob,
WebhookLastTrigger, SupportedWebhookEventTypes, Execution, Task) and Tidemark's additions."""

import msgspec


class WebhookTargetObject(msgspec.Struct, kw_only=True):
    type: str = "http"
    address: str = ""
    auth_header: str = ""  # shown redacted; sending the marker back keeps the stored value
    skip_cert_verify: bool = False
    payload_format: str = "Default"


class WebhookPolicy(msgspec.Struct, kw_only=True):
    id: int | None = None
    name: str = ""
    description: str = ""
    project_id: int | None = None
    targets: list[WebhookTargetObject] = []
    event_types: list[str] = []
    creator: str = ""
    creation_time: str | None = None
    update_time: str | None = None
    enabled: bool = True


class WebhookJob(msgspec.Struct, kw_only=True):
    id: int
    policy_id: int
    event_type: str
    notify_type: str
    status: str  # pending, running, scheduled (waiting for a retry), success, error
    job_detail: str  # the payload sent (Default form), as Harbor gives it
    creation_time: str
    update_time: str


class WebhookAttempt(msgspec.Struct, kw_only=True):
    """Tidemark: one recorded attempt of a job."""

    attempt: int
    time: str
    status_code: int
    error: str
    duration_ms: int


class WebhookJobDetail(WebhookJob, kw_only=True):
    """Tidemark: a job with its target, idempotency key and every attempt."""

    address: str
    event_id: str
    position: int
    replay: int
    attempts: list[WebhookAttempt]


class WebhookLastTrigger(msgspec.Struct, kw_only=True):
    policy_name: str
    event_type: str
    enabled: bool
    creation_time: str
    last_trigger_time: str | None  # null: never triggered (Harbor sends a zero time)


class PayloadFormat(msgspec.Struct, kw_only=True):
    notify_type: str
    formats: list[str]


class SupportedWebhookEventTypes(msgspec.Struct, kw_only=True):
    event_type: list[str]
    notify_type: list[str]
    payload_formats: list[PayloadFormat]
    # Tidemark: accepted in policies, but nothing records these events yet.
    event_type_without_source: list[str]


class Execution(msgspec.Struct, kw_only=True):
    id: int
    vendor_type: str
    vendor_id: int
    status: str
    status_message: str
    metrics: dict
    trigger: str
    extra_attrs: dict
    start_time: str
    end_time: str


class Task(msgspec.Struct, kw_only=True):
    id: int
    execution_id: int
    status: str
    status_message: str
    run_count: int
    extra_attrs: dict
    creation_time: str
    update_time: str
    start_time: str
    end_time: str


class ReplayRequest(msgspec.Struct, kw_only=True, rename={"from_": "from"}):
    """Tidemark: replay a policy from an event position or an RFC 3339 time."""

    from_: str | int


class ReplayAccepted(msgspec.Struct, kw_only=True):
    policy_id: int
    from_position: int
    to_position: int
