"""Garbage collection through Harbor's schedule route: run now, or on a schedule."""

import anyio.to_thread
from litestar import Request, Response, post, put
from litestar.params import JSONBody, Parameter

from commands.gc_schedule_handlers import SetGcSchedule, StopGc
from domain.errors import BadRequest, Conflict, NotFound
from infra.http.rest import caller

TYPES = ("Hourly", "Daily", "Weekly", "Custom", "Schedule", "Manual", "None")


def _parameters(data: dict) -> tuple[bool, bool]:
    parameters = data.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise BadRequest("parameters must be an object", {"field": "parameters"})
    for key in ("dry_run", "delete_untagged"):
        if not isinstance(parameters.get(key, False), bool):
            raise BadRequest(f"parameters.{key} must be true or false", {"field": f"parameters.{key}"})
    return parameters.get("dry_run", False), parameters.get("delete_untagged", False)


def _schedule(data: dict) -> tuple[str, str]:
    schedule = data.get("schedule") or {}
    if not isinstance(schedule, dict):
        raise BadRequest("schedule must be an object", {"field": "schedule"})
    kind, cron = schedule.get("type", "Manual"), schedule.get("cron") or ""
    if kind not in TYPES:
        raise BadRequest(f"schedule.type must be one of {', '.join(TYPES)}", {"field": "schedule.type"})
    if not isinstance(cron, str):
        raise BadRequest("schedule.cron must be a string", {"field": "schedule.cron"})
    return kind, cron


async def _set(who, kind: str, cron: str, dry_run: bool, untagged: bool) -> None:
    await who.registry.run(who.registry.gc_schedule_commands.set_schedule,
                           SetGcSchedule(kind, cron, dry_run, untagged, who.actor))


@post("/api/v2.0/system/gc/schedule", status_code=201)
async def start_gc(request: Request, data: JSONBody[dict]) -> Response:
    """`{"schedule": {"type": "Manual"}, "parameters": {"dry_run": bool, "delete_untagged": bool}}`
    starts a run now (its progress shows in GET /system/gc); `Hourly`, `Daily`, `Weekly` or
    `Custom` with `cron` creates the schedule (409 if one is set: PUT changes it)."""
    who = await caller(request)
    kind, cron = _schedule(data)
    dry_run, untagged = _parameters(data)
    if kind == "Manual":
        run = await anyio.to_thread.run_sync(who.registry.collector.start_in_background, dry_run, untagged)
        await anyio.to_thread.run_sync(who.registry.catch_up_reads)
        row = await anyio.to_thread.run_sync(who.registry.gc.run, run)
        return Response(None, status_code=201, headers={"Location": f"/api/v2.0/system/gc/{row[0]}"})
    if kind != "None" and await anyio.to_thread.run_sync(who.registry.gc.schedule) is not None:
        raise Conflict("a garbage collection schedule is set; PUT /system/gc/schedule changes it")
    await _set(who, kind, cron, dry_run, untagged)
    return Response(None, status_code=201, headers={"Location": "/api/v2.0/system/gc/schedule"})


@put("/api/v2.0/system/gc/schedule", status_code=200)
async def update_gc_schedule(request: Request, data: JSONBody[dict]) -> None:
    """Set or change the schedule; type `None` removes it."""
    who = await caller(request)
    kind, cron = _schedule(data)
    if kind == "Manual":
        raise BadRequest("a Manual run is started with POST; PUT sets a schedule",
                         {"field": "schedule.type"})
    dry_run, untagged = _parameters(data)
    await _set(who, kind, cron, dry_run, untagged)


@put("/api/v2.0/system/gc/{gc_id:int}", status_code=200)
async def stop_gc(request: Request, gc_id: int = Parameter()) -> None:
    """Stop a running collection: it ends with status `Stopped` after its current batch;
    what it already removed stays removed. 409 if the run already ended otherwise."""
    who = await caller(request)
    row = await anyio.to_thread.run_sync(who.registry.gc.run, str(gc_id))
    if row is None:
        raise NotFound("garbage collection run not found", {"gc_id": gc_id})
    await who.registry.run(who.registry.gc_schedule_commands.stop_run,
                           StopGc(row[1], who.actor))
