"""GET routes of scan-all: its schedule (Harbor's shape, as GC's) and the metrics of its latest
run and latest scheduled run (Harbor's Stats: total, completed, metrics, ongoing, trigger)."""

from datetime import datetime, timezone

import anyio.to_thread
from litestar import Request, get

from infra.http.rest import caller
from infra.http.scanners import stats
from read_api.rest_gc import scheduled_job

API = "/api/v2.0"


@get(API + "/system/scanAll/schedule")
async def scan_all_schedule(request: Request) -> dict:
    who = await caller(request)
    current = await anyio.to_thread.run_sync(who.registry.scan_all.current)
    row = (current.kind, current.cron, current.schedule_updated, current.schedule_updated) if current.kind else None
    return scheduled_job("SCAN_ALL", "{}", row, datetime.now(timezone.utc))


@get(API + "/scans/all/metrics")
async def scan_all_metrics(request: Request) -> dict:
    who = await caller(request)
    return await anyio.to_thread.run_sync(stats, who.registry, None)


@get(API + "/scans/schedule/metrics")
async def scheduled_scan_metrics(request: Request) -> dict:
    who = await caller(request)
    return await anyio.to_thread.run_sync(stats, who.registry, "Schedule")


ROUTES = [scan_all_schedule, scan_all_metrics, scheduled_scan_metrics]
