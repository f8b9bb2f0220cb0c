"""Audit log rotation (Harbor's /system/purgeaudit): history, schedule, one run, its log.

A purge trims rows of the audit query model only; the event log keeps every entry
(`tidemark events export` writes it out), and a rebuilt audit view trims the same rows.
"""

import json
from datetime import datetime, timezone

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from domain.audit_purge import PURGE_NOTE
from domain.errors import NotFound
from infra.http.listing import INT, TIME, Key, Listing
from infra.http.rest import caller
from read_api.rest_gc import scheduled_job

JOB_NAME = "PURGE_AUDIT"
DEFAULT_PARAMETERS = json.dumps({"audit_retention_hour": 0, "include_event_types": "", "dry_run": False})


def purge_resp(row: tuple) -> dict:
    """A run in Harbor's ExecHistory shape, with Tidemark's additions (rows trimmed, cutoff)."""
    (position, run, trigger, scheduled_for, parameters, status, purged, cutoff, reason,
     created, updated) = row
    body = {"id": position, "job_name": JOB_NAME, "job_kind": trigger, "job_parameters": parameters,
            "schedule": None, "job_status": status, "deleted": False, "creation_time": created,
            "update_time": updated, "run_id": run, "purged": purged}
    if cutoff:
        body["cutoff"] = cutoff
    if scheduled_for:
        body["scheduled_for"] = scheduled_for
    if reason:
        body["error"] = reason
    return body


async def purge_run(who, purge_id: int) -> tuple:
    row = await anyio.to_thread.run_sync(who.registry.audit_purges.run, purge_id)
    if row is None:
        raise NotFound("purge run not found", {"purge_id": purge_id})
    return row


PURGE_KEYS = Listing({"id": Key(INT), "job_status": Key(), "job_kind": Key(), "job_name": Key(),
                      "run_id": Key(), "purged": Key(INT), "creation_time": Key(TIME),
                      "update_time": Key(TIME)})


@get("/api/v2.0/system/purgeaudit", description=PURGE_NOTE)
async def purge_history(request: Request, q: FromQuery[str | None] = None, page: FromQuery[int] = 1,
                        page_size: FromQuery[int] = 10, sort: FromQuery[str | None] = None) -> Response:
    """Purge runs, newest first; `q=job_status=Success`, `sort=creation_time` as Harbor."""
    who = await caller(request)
    return await PURGE_KEYS.answer_rows(request, who.registry.audit_purges.runs, purge_resp,
                                        q, sort, page, page_size)


@get("/api/v2.0/system/purgeaudit/schedule", description=PURGE_NOTE)
async def purge_schedule(request: Request) -> dict:
    who = await caller(request)
    row = await anyio.to_thread.run_sync(who.registry.audit_purges.schedule)
    now = datetime.now(timezone.utc)
    if row is None:
        return scheduled_job(JOB_NAME, DEFAULT_PARAMETERS, None, now)
    kind, cron, parameters, created, updated = row
    return scheduled_job(JOB_NAME, parameters, (kind, cron, created, updated), now)


@get("/api/v2.0/system/purgeaudit/{purge_id:int}", description=PURGE_NOTE)
async def purge_status(request: Request, purge_id: int = Parameter()) -> dict:
    who = await caller(request)
    return purge_resp(await purge_run(who, purge_id))


@get("/api/v2.0/system/purgeaudit/{purge_id:int}/log", media_type="text/plain", description=PURGE_NOTE)
async def purge_log(request: Request, purge_id: int = Parameter()) -> str:
    """The run's story, told from its events."""
    who = await caller(request)
    body = purge_resp(await purge_run(who, purge_id))
    parameters = json.loads(body["job_parameters"])
    lines = [f"{body['creation_time']} audit log purge {body['run_id']} started ({body['job_kind']}): "
             f"entries older than {parameters['audit_retention_hour']} hours of event types "
             f"{parameters['include_event_types'] or '(none)'}, dry run: {parameters['dry_run']}",
             f"{body['update_time']} status {body['job_status']}: "
             f"{'would trim' if parameters['dry_run'] else 'trimmed'} {body['purged']} audit entries"
             + (f" older than {body['cutoff']}" if body.get("cutoff") else ""),
             "the event log is untouched: every entry stays exportable with `tidemark events export`"]
    if body.get("error"):
        lines.append(f"error: {body['error']}")
    return "\n".join(lines) + "\n"

ROUTES = [purge_history, purge_schedule, purge_status, purge_log]
