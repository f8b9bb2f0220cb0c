"""Harbor's garbage collection history, status (with progress) and log."""

from datetime import datetime, timezone

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from domain.errors import NotFound
from infra.http.listing import INT, TIME, Key, Listing
from infra.http.rest import caller
from domain.cron import next_tick


def _parameters(dry_run, untagged) -> str:
    return (f'{{"dry_run": {str(bool(dry_run)).lower()}, '
            f'"delete_untagged": {str(bool(untagged)).lower()}}}')


def gc_resp(row, progress: dict) -> dict:
    (position, run, dry_run, untagged, status, blobs, size, unlinked, reason, created, updated,
     trigger, scheduled_for) = row
    body = {"id": position, "job_name": "GARBAGE_COLLECTION", "job_kind": trigger,
            "job_parameters": _parameters(dry_run, untagged),
            "schedule": None, "job_status": status, "deleted": False,
            "creation_time": created, "update_time": updated,
            "run_id": run, "freed_blobs": blobs, "freed_bytes": size, "unlinked": unlinked}
    if scheduled_for:
        body["scheduled_for"] = scheduled_for
    if status == "Running" and progress.get("id") == run:
        body["progress"] = {k: progress[k] for k in ("phase", "done", "total")}
    if reason:
        body["error"] = reason
    return body


def scheduled_job(job_name: str, parameters: str, row: tuple | None, now: datetime) -> dict:
    """Harbor's answer for a system job's GET .../schedule (an execution record with the
    schedule in it); `row` is (type, cron, created, updated), or None when none is set."""
    body = {"job_name": job_name, "job_kind": "SCHEDULE", "job_parameters": parameters, "deleted": False}
    if row is None:
        return {**body, "schedule": None}
    kind, cron, created, updated = row
    upcoming = next_tick(cron, now).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {**body, "creation_time": created, "update_time": updated,
            "schedule": {"type": kind, "cron": cron, "next_scheduled_time": upcoming}}


def schedule_resp(row, now: datetime) -> dict:
    """Harbor's answer for GET /system/gc/schedule (a GCHistory with the schedule in it)."""
    if row is None:
        return scheduled_job("GARBAGE_COLLECTION", _parameters(False, False), None, now)
    kind, cron, dry_run, untagged, created, updated = row
    return scheduled_job("GARBAGE_COLLECTION", _parameters(dry_run, untagged), (kind, cron, created, updated), now)


GC_KEYS = Listing({"id": Key(INT), "job_status": Key(), "job_kind": Key(), "job_name": Key(),
                   "run_id": Key(), "creation_time": Key(TIME), "update_time": Key(TIME)})


@get("/api/v2.0/system/gc")
async def gc_history(request: Request, page: FromQuery[int] = 1, page_size: FromQuery[int] = 10,
                     q: FromQuery[str | None] = None, sort: FromQuery[str | None] = None) -> Response:
    """Runs, newest first; `q=job_status=Success`, `sort=creation_time` as Harbor."""
    who = await caller(request)
    progress = who.registry.collector.progress
    return await GC_KEYS.answer_rows(request, who.registry.gc.runs, lambda r: gc_resp(r, progress),
                                     q, sort, page, page_size)


async def _run(who, gc_id: int):
    row = await anyio.to_thread.run_sync(who.registry.gc.run, str(gc_id))
    if row is None:
        raise NotFound("garbage collection run not found", {"gc_id": gc_id})
    return row


@get("/api/v2.0/system/gc/schedule")
async def gc_schedule(request: Request) -> dict:
    who = await caller(request)
    row = await anyio.to_thread.run_sync(who.registry.gc.schedule)
    return schedule_resp(row, datetime.now(timezone.utc))


@get("/api/v2.0/system/gc/{gc_id:int}")
async def gc_status(request: Request, gc_id: int = Parameter()) -> dict:
    who = await caller(request)
    return gc_resp(await _run(who, gc_id), who.registry.collector.progress)


@get("/api/v2.0/system/gc/{gc_id:int}/log", media_type="text/plain")
async def gc_log(request: Request, gc_id: int = Parameter()) -> str:
    """The run's story, told from its events."""
    who = await caller(request)
    return gc_log_text(await _run(who, gc_id), who.registry.collector.progress)


def gc_log_text(row, progress: dict) -> str:
    """A run's log: when it started and with what, how it ended."""
    body = gc_resp(row, progress)
    lines = [f"{body['creation_time']} garbage collection {body['run_id']} started "
             f"(dry run: {bool(row[2])}, delete untagged: {bool(row[3])})",
             f"{body['update_time']} status {body['job_status']}: unlinked {body['unlinked']} links, "
             f"{'would free' if row[2] else 'freed'} {body['freed_blobs']} blobs, {body['freed_bytes']} bytes"]
    if body.get("error"):
        lines.append(f"error: {body['error']}")
    return "\n".join(lines) + "\n"
