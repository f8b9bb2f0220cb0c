"""GET routes for a project's webhooks: policies, supported events, jobs, executions, last triggers.

Jobs and executions are the same thing here: one delivery of one event to one
target (Harbor's task); `GET .../webhook/jobs/{id}` (a Tidemark addition) shows
every attempt of one.
"""

from datetime import datetime, timezone

import anyio.to_thread
import msgspec
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from domain.errors import NotFound
from domain.webhooks.targets import EVENT_TYPES, NOTIFY_TYPES, PAYLOAD_FORMATS, WITHOUT_SOURCE, redacted_targets
from infra.http.resources import WEBHOOKS, project_job, project_policy
from infra.http.listing import BOOL, EVERY, INT, TIME, Key, Listing
from infra.http.rest import caller
from infra.messaging.webhook_payloads import default_body
from infra.schemas.webhooks import (
    Execution, PayloadFormat, SupportedWebhookEventTypes, Task, WebhookAttempt, WebhookJob,
    WebhookJobDetail, WebhookLastTrigger, WebhookPolicy, WebhookTargetObject,
)

BASE = WEBHOOKS
EXECUTION_STATUS = {"pending": "Pending", "running": "Running", "scheduled": "Running",
                    "success": "Success", "error": "Error"}


def policy_resp(row) -> WebhookPolicy:
    targets = [msgspec.convert(t, WebhookTargetObject) for t in redacted_targets(row.targets)]
    return WebhookPolicy(id=row.policy_id, name=row.name, description=row.description,
                         project_id=row.project_id, targets=targets, event_types=row.event_types,
                         creator=row.creator, creation_time=row.created_at,
                         update_time=row.updated_at, enabled=row.enabled)


def _time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def job_resp(job, registry) -> WebhookJob:
    created = job.started_at or _time(job.occur_at)
    return WebhookJob(id=job.job_id, policy_id=job.policy_id, event_type=job.event_type,
                      notify_type=job.notify_type, status=job.status,
                      job_detail=_detail(job, registry), creation_time=created,
                      update_time=job.updated_at or created)


def _detail(job, registry) -> str:
    if job.data is None:
        return ""
    return msgspec.json.encode(default_body(job, job.data, registry.external_url, None)).decode()


POLICY_KEYS = Listing({"name": Key(), "id": Key(INT), "enabled": Key(BOOL), "creator": Key(),
                       "description": Key(), "event_types": Key(), "creation_time": Key(TIME),
                       "update_time": Key(TIME)})
JOB_KEYS = Listing({"id": Key(INT), "status": Key(), "event_type": Key(), "notify_type": Key(),
                    "creation_time": Key(TIME), "update_time": Key(TIME)})
EXECUTION_KEYS = Listing({"id": Key(INT), "status": Key(), "trigger": Key(), "vendor_id": Key(INT),
                          "event_type": Key(read=lambda e: e.extra_attrs.get("event_type")),
                          "start_time": Key(TIME), "end_time": Key(TIME)})
TASK_KEYS = Listing({"id": Key(INT), "status": Key(), "run_count": Key(INT), "creation_time": Key(TIME),
                     "update_time": Key(TIME), "start_time": Key(TIME), "end_time": Key(TIME)})


@get(BASE + "/policies")
async def list_policies(request: Request, project_name_or_id: str = Parameter(),
                        page: FromQuery[int] = 1, page_size: FromQuery[int] = 10,
                        q: FromQuery[str | None] = None, sort: FromQuery[str | None] = None) -> Response:
    who = await caller(request)
    project = who.project
    rows, _ = await anyio.to_thread.run_sync(who.registry.webhook_queries.policies,
                                             project.name, 0, EVERY)
    return POLICY_KEYS.answer(request, [policy_resp(r) for r in rows], q, sort, page, page_size)


@get(BASE + "/policies/{webhook_policy_id:int}")
async def get_policy(request: Request, project_name_or_id: str = Parameter(),
                     webhook_policy_id: int = Parameter()) -> WebhookPolicy:
    who = await caller(request)
    _, row = await project_policy(who, webhook_policy_id)
    return policy_resp(row)


@get(BASE + "/events")
async def supported_events(request: Request, project_name_or_id: str = Parameter()) -> SupportedWebhookEventTypes:
    who = await caller(request)
    who.project
    return SupportedWebhookEventTypes(
        event_type=list(EVENT_TYPES), notify_type=list(NOTIFY_TYPES),
        payload_formats=[PayloadFormat(notify_type=k, formats=list(v)) for k, v in PAYLOAD_FORMATS.items()],
        event_type_without_source=list(WITHOUT_SOURCE))


@get(BASE + "/lasttrigger")
async def last_trigger(request: Request, project_name_or_id: str = Parameter()) -> list[WebhookLastTrigger]:
    who = await caller(request)
    project = who.project
    queries = who.registry.webhook_queries
    rows, _ = await anyio.to_thread.run_sync(queries.policies, project.name, 0, EVERY)
    triggers = dict(((pid, kind), at) for pid, kind, at in
                    await anyio.to_thread.run_sync(queries.last_triggers, project.name))
    return [WebhookLastTrigger(policy_name=row.name, event_type=kind, enabled=row.enabled,
                               creation_time=row.created_at,
                               last_trigger_time=_time(triggers[(row.policy_id, kind)])
                               if (row.policy_id, kind) in triggers else None)
            for row in rows for kind in row.event_types]


@get(BASE + "/jobs")
async def list_jobs(request: Request, policy_id: FromQuery[int], project_name_or_id: str = Parameter(),
                    status: FromQuery[list[str] | None] = None, page: FromQuery[int] = 1,
                    page_size: FromQuery[int] = 10, q: FromQuery[str | None] = None,
                    sort: FromQuery[str | None] = None) -> Response:
    """Harbor's (deprecated) job list of one policy, newest first; `status` and `q=` filter."""
    who = await caller(request)
    project, _ = await project_policy(who, policy_id)
    statuses = [s for value in status or [] for s in value.split(",") if s]

    def rows(offset: int, limit: int):
        return who.registry.webhook_queries.jobs(project.name, policy_id, statuses, offset, limit)
    return await JOB_KEYS.answer_rows(request, rows, lambda r: job_resp(r, who.registry), q, sort,
                                      page, page_size)


@get(BASE + "/jobs/{job_id:int}")
async def get_job(request: Request, project_name_or_id: str = Parameter(),
                  job_id: int = Parameter()) -> WebhookJobDetail:
    """Tidemark: one job with its target, idempotency key (event id) and every attempt."""
    who = await caller(request)
    project = who.project
    job = await project_job(who, project.name, job_id)
    attempts = await anyio.to_thread.run_sync(who.registry.webhook_queries.attempts, job.job_key)
    base = msgspec.structs.asdict(job_resp(job, who.registry))
    return WebhookJobDetail(**base, address=job.address, event_id=job.event_id, position=job.position,
                            replay=job.replay, attempts=[
                                WebhookAttempt(attempt=a.attempt, time=a.at, status_code=a.status_code,
                                               error=a.error, duration_ms=a.duration_ms)
                                for a in attempts])


def execution_resp(job, registry) -> Execution:
    created = job.started_at or _time(job.occur_at)
    return Execution(id=job.job_id, vendor_type="WEBHOOK", vendor_id=job.policy_id,
                     status=EXECUTION_STATUS[job.status], status_message=job.last_error,
                     metrics={}, trigger="EVENT",
                     extra_attrs={"event_type": job.event_type, "event_id": job.event_id},
                     start_time=created,
                     end_time=job.updated_at if job.status in ("success", "error") else "")


@get(BASE + "/policies/{webhook_policy_id:int}/executions")
async def list_executions(request: Request, project_name_or_id: str = Parameter(),
                          webhook_policy_id: int = Parameter(), page: FromQuery[int] = 1,
                          page_size: FromQuery[int] = 10, q: FromQuery[str | None] = None,
                          sort: FromQuery[str | None] = None) -> Response:
    who = await caller(request)
    project, _ = await project_policy(who, webhook_policy_id)

    def rows(offset: int, limit: int):
        return who.registry.webhook_queries.jobs(project.name, webhook_policy_id, [], offset, limit)
    return await EXECUTION_KEYS.answer_rows(request, rows, lambda r: execution_resp(r, who.registry),
                                            q, sort, page, page_size)


@get(BASE + "/policies/{webhook_policy_id:int}/executions/{execution_id:int}/tasks")
async def list_tasks(request: Request, project_name_or_id: str = Parameter(),
                     webhook_policy_id: int = Parameter(), execution_id: int = Parameter(),
                     page: FromQuery[int] = 1, page_size: FromQuery[int] = 10,
                     q: FromQuery[str | None] = None, sort: FromQuery[str | None] = None) -> Response:
    """One task per execution: the delivery job, with its number of attempts as `run_count`."""
    who = await caller(request)
    project, _ = await project_policy(who, webhook_policy_id)
    job = await project_job(who, project.name, execution_id)
    if job.policy_id != webhook_policy_id:
        raise NotFound("execution not found", {"id": execution_id})
    created = job.started_at or _time(job.occur_at)
    task = Task(id=job.job_id, execution_id=job.job_id, status=EXECUTION_STATUS[job.status],
                status_message=job.last_error, run_count=job.attempts,
                extra_attrs={"address": job.address, "notify_type": job.notify_type},
                creation_time=created, update_time=job.updated_at or created,
                start_time=created, end_time=job.updated_at if job.status in ("success", "error") else "")
    return TASK_KEYS.answer(request, [task], q, sort, page, page_size)


@get(BASE + "/policies/{webhook_policy_id:int}/executions/{execution_id:int}/tasks/{task_id:int}/log",
     media_type="text/plain")
async def task_log(request: Request, project_name_or_id: str = Parameter(),
                   webhook_policy_id: int = Parameter(), execution_id: int = Parameter(),
                   task_id: int = Parameter()) -> str:
    who = await caller(request)
    project, _ = await project_policy(who, webhook_policy_id)
    job = await project_job(who, project.name, execution_id)
    if job.policy_id != webhook_policy_id or task_id != execution_id:
        raise NotFound("task not found", {"id": task_id})
    attempts = await anyio.to_thread.run_sync(who.registry.webhook_queries.attempts, job.job_key)
    lines = [f"{a.at} attempt {a.attempt}: " + (f"HTTP {a.status_code}" if a.status_code else "no answer")
             + (f" ({a.error})" if a.error and not a.error.startswith("HTTP") else "")
             + f" in {a.duration_ms} ms" for a in attempts]
    lines.append(f"status: {job.status}" + (f" ({job.last_error})" if job.status == "error" else ""))
    return "\n".join(lines) + "\n"


ROUTES = [list_policies, get_policy, supported_events, last_trigger, list_jobs, get_job,
          list_executions, list_tasks, task_log]
