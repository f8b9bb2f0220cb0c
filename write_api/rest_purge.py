"""Audit log rotation through Harbor's purge routes: purge now, on a schedule, or stop a run.

A purge trims rows of the audit query model older than `audit_retention_hour`; it never
touches the event log, which keeps every entry (`tidemark events export`).
"""

import anyio.to_thread
from litestar import Request, Response, post, put
from litestar.params import JSONBody, Parameter

from commands.audit_purge_handlers import PurgeParameters, SetAuditPurgeSchedule, StopAuditPurge
from domain.audit_purge import MAX_RETENTION_HOURS, PURGE_NOTE
from domain.errors import BadRequest, Conflict, NotFound
from infra.http.rest import caller
from write_api.rest_gc import _schedule


def _event_types(value, known: list[str]) -> list[str]:
    """Harbor's comma-separated `include_event_types` (a JSON list is taken too): event types
    (`create_artifact`) or bare operations (`create`); 400 naming the first unknown one."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest("parameters.include_event_types must be a comma-separated string",
                         {"field": "parameters.include_event_types"})
    allowed = set(known) | {t.split("_", 1)[0] for t in known}
    types = [v.strip().lower() for v in value if v.strip()]
    for event_type in types:
        if event_type not in allowed:
            raise BadRequest(f"unknown event type {event_type[:64]!r} in parameters.include_event_types "
                             "(GET /auditlog-exts/events lists them)",
                             {"field": "parameters.include_event_types"})
    return sorted(set(types))


def _parameters(data: dict, known: list[str]) -> PurgeParameters:
    parameters = data.get("parameters")
    if not isinstance(parameters, dict):
        raise BadRequest("parameters must be an object with audit_retention_hour",
                         {"field": "parameters"})
    hours = parameters.get("audit_retention_hour")
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_RETENTION_HOURS:
        raise BadRequest(f"parameters.audit_retention_hour must be a whole number of hours from 1 to "
                         f"{MAX_RETENTION_HOURS}", {"field": "parameters.audit_retention_hour"})
    dry_run = parameters.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise BadRequest("parameters.dry_run must be true or false", {"field": "parameters.dry_run"})
    return PurgeParameters(hours, _event_types(parameters.get("include_event_types", ""), known), dry_run)


async def _set(who, kind: str, cron: str, parameters: PurgeParameters) -> None:
    await who.registry.run(who.registry.audit_purge_commands.set_schedule,
                           SetAuditPurgeSchedule(kind, cron, parameters, who.actor))


def _body(data) -> dict:
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", {"field": "body"})
    return data


@post("/api/v2.0/system/purgeaudit/schedule", status_code=201, description=PURGE_NOTE)
async def start_purge(request: Request, data: JSONBody[dict]) -> Response:
    """`{"schedule": {"type": "Manual"}, "parameters": {"audit_retention_hour": 168,
    "include_event_types": "create_artifact,pull_artifact", "dry_run": false}}` trims the audit
    log now (the answer's Location names the run); `Hourly`, `Daily`, `Weekly` or `Custom` with
    `cron` sets the schedule (409 if one is set: PUT changes it). Only the audit query model is
    trimmed: the event log keeps every entry (`tidemark events export`)."""
    who = await caller(request)
    kind, cron = _schedule(_body(data))
    types = who.registry.audit_event_types()
    if kind == "None":
        await _set(who, kind, cron, PurgeParameters(1, [], False))
        return Response(None, status_code=201, headers={"Location": "/api/v2.0/system/purgeaudit/schedule"})
    parameters = _parameters(data, types)
    if kind == "Manual":
        run = await anyio.to_thread.run_sync(who.registry.audit_purger.run, parameters, who.actor)
        position = await anyio.to_thread.run_sync(who.registry.audit_purges.position_of, run)
        return Response(None, status_code=201, headers={"Location": f"/api/v2.0/system/purgeaudit/{position}"})
    if await anyio.to_thread.run_sync(who.registry.audit_purges.schedule) is not None:
        raise Conflict("an audit log purge schedule is set; PUT /system/purgeaudit/schedule changes it")
    await _set(who, kind, cron, parameters)
    return Response(None, status_code=201, headers={"Location": "/api/v2.0/system/purgeaudit/schedule"})


@put("/api/v2.0/system/purgeaudit/schedule", status_code=200, description=PURGE_NOTE)
async def update_purge_schedule(request: Request, data: JSONBody[dict]) -> None:
    """Set or change the schedule; type `None` removes it."""
    who = await caller(request)
    kind, cron = _schedule(_body(data))
    if kind == "Manual":
        raise BadRequest("a Manual purge is started with POST; PUT sets a schedule",
                         {"field": "schedule.type"})
    parameters = PurgeParameters(1, [], False) if kind == "None" else \
        _parameters(data, who.registry.audit_event_types())
    await _set(who, kind, cron, parameters)


@put("/api/v2.0/system/purgeaudit/{purge_id:int}", status_code=200, description=PURGE_NOTE)
async def stop_purge(request: Request, purge_id: int = Parameter()) -> None:
    """Stop a running purge before it trims; a run that already ended stays as it was (200)."""
    who = await caller(request)
    row = await anyio.to_thread.run_sync(who.registry.audit_purges.run, purge_id)
    if row is None:
        raise NotFound("purge run not found", {"purge_id": purge_id})
    await who.registry.run(who.registry.audit_purge_commands.stop, StopAuditPurge(row[1], who.actor))

ROUTES = [start_purge, update_purge_schedule, stop_purge]
