"""Harbor's job-service and schedule views, answered from Tidemark's log followers and
schedulers (infra/wiring/job_service.py, ADR 0029). System administrators only."""

from datetime import datetime, timezone

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from domain.errors import NotFound
from infra.http.rest import caller, paged, paging
from read_api.rest_gc import gc_log_text
from read_api.rest_retention import task_log

JS = "/api/v2.0/jobservice"


@get(JS + "/pools")
async def worker_pools(request: Request) -> list[dict]:
    """Each process that runs background work: this one, and those that recorded a worker."""
    who = await caller(request)
    return await anyio.to_thread.run_sync(who.registry.job_service.pools)


@get(JS + "/pools/{pool_id:str}/workers")
async def pool_workers(request: Request, pool_id: str = Parameter()) -> list[dict]:
    """The followers and schedulers of a pool (`all`: of every pool)."""
    who = await caller(request)
    workers = await anyio.to_thread.run_sync(who.registry.job_service.workers, pool_id)
    if workers is None:
        raise NotFound("no such worker pool", {"pool_id": pool_id[:128]})
    return workers


@get(JS + "/queues")
async def job_queues(request: Request) -> list[dict]:
    """One queue per log follower: the events it has not handled yet, and how long the oldest
    of them has waited."""
    who = await caller(request)
    return await anyio.to_thread.run_sync(who.registry.job_service.queues)


def _job_log(registry, job_id: str) -> str | None:
    kind, _, number = job_id.partition("-")
    if not number.isascii() or not number.isdigit() or len(number) > 18:
        return None
    if kind == "gc":
        row = registry.gc.run(number)
        return gc_log_text(row, registry.collector.progress) if row is not None else None
    if kind == "retention":
        run = registry.retention.run(int(number))
        if run is None:
            return None
        tasks, _ = registry.retention.tasks(run.id, 0, 10_000)
        return "".join(task_log(run, task) for task in tasks) or f"{run.start_time} {run.status}\n"
    return None


@get(JS + "/jobs/{job_id:str}/log", media_type="text/plain")
async def job_log(request: Request, job_id: str = Parameter()) -> str:
    """The log of a job a worker names (`gc-<id>`, `retention-<execution id>`)."""
    who = await caller(request)
    text = await anyio.to_thread.run_sync(_job_log, who.registry, job_id)
    if text is None:
        raise NotFound("no such job", {"job_id": job_id[:128]})
    return text


@get("/api/v2.0/schedules")
async def list_schedules(request: Request, page: FromQuery[int] = 1, page_size: FromQuery[int] = 10) -> Response:
    """Every schedule (garbage collection, retention policies, ...) with its state and lag."""
    who = await caller(request)
    offset, limit = paging(page, page_size)
    every = await anyio.to_thread.run_sync(who.registry.job_service.schedules, datetime.now(timezone.utc))
    return paged(request, every[offset:offset + limit], len(every), page, page_size)


@get("/api/v2.0/schedules/{job_type:str}/paused")
async def schedule_paused(request: Request, job_type: str = Parameter()) -> dict:
    """Whether scheduled runs are paused (`PUT /jobservice/queues/SCHEDULER`). `all` as in
    Harbor, or one vendor type Tidemark schedules: they pause together."""
    who = await caller(request)
    every = await anyio.to_thread.run_sync(who.registry.job_service.schedules, datetime.now(timezone.utc))
    if job_type != "all" and job_type not in {task["vendor_type"] for task in every}:
        raise NotFound("no schedule of this type", {"job_type": job_type[:128]})
    return {"paused": await anyio.to_thread.run_sync(who.registry.schedule_pause.paused)}
