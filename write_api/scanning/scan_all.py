"""Routes that start scan-all now, set its schedule, or stop its run."""

import anyio.to_thread
from litestar import Request, Response, post, put
from litestar.params import JSONBody

from commands.scanning.scan_all import SetScanAllSchedule, StartScanAll
from domain.errors import BadRequest, Conflict
from infra.http.rest import caller
from write_api.rest_gc import _schedule

API = "/api/v2.0"


@post(API + "/system/scanAll/schedule", status_code=201)
async def start_scan_all(request: Request, data: JSONBody[dict]) -> Response:
    """`{"schedule": {"type": "Manual"}}` starts a run now (GET /scans/all/metrics shows its
    progress); Hourly, Daily, Weekly or Custom with `cron` sets the schedule (409 if one is set)."""
    who = await caller(request)
    kind, cron = _schedule(data)
    registry = who.registry
    if kind == "Manual":
        await registry.run(registry.scan_all.start, StartScanAll("Manual", who.actor))
        registry.scan_all_expander.poke()
        return Response(None, status_code=201, headers={"Location": f"{API}/scans/all/metrics"})
    current = await anyio.to_thread.run_sync(registry.scan_all.current)
    if kind != "None" and current.kind:
        raise Conflict("a scan-all schedule is set; PUT /system/scanAll/schedule changes it")
    await registry.run(registry.scan_all.set_schedule, SetScanAllSchedule(kind, cron, who.actor))
    return Response(None, status_code=201, headers={"Location": f"{API}/system/scanAll/schedule"})


@put(API + "/system/scanAll/schedule", status_code=200)
async def update_scan_all_schedule(request: Request, data: JSONBody[dict]) -> None:
    who = await caller(request)
    kind, cron = _schedule(data)
    if kind == "Manual":
        raise BadRequest("a Manual run is started with POST; PUT sets a schedule", {"field": "schedule.type"})
    await who.registry.run(who.registry.scan_all.set_schedule, SetScanAllSchedule(kind, cron, who.actor))


@post(API + "/system/scanAll/stop", status_code=202)
async def stop_scan_all(request: Request) -> None:
    """Stop the latest run: no more scans are asked for, and those not ended are stopped."""
    who = await caller(request)
    registry = who.registry
    run, _ = await anyio.to_thread.run_sync(registry.scan_all.stop, who.actor)
    trigger = (await anyio.to_thread.run_sync(registry.scan_all.current)).current
    await anyio.to_thread.run_sync(registry.scan_worker.stop_scans_of, run, trigger, who.actor)
    await anyio.to_thread.run_sync(registry.catch_up_reads)


ROUTES = [start_scan_all, update_scan_all_schedule, stop_scan_all]
