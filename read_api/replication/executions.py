"""GET routes of replication executions, their tasks and a task's log (Harbor's
/replication/executions...), from the execution view."""

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from domain.errors import NotFound
from infra.http.replication import EXECUTIONS, execution_resp, execution_row, task_resp
from infra.http.rest import caller, paged, paging
from infra.schemas.replication import ReplicationExecution


@get(EXECUTIONS)
async def list_executions(request: Request, policy_id: FromQuery[int | None] = None,
                          status: FromQuery[str | None] = None, trigger: FromQuery[str | None] = None,
                          page: FromQuery[int] = 1, page_size: FromQuery[int] = 10) -> Response:
    who = await caller(request)
    registry = who.registry
    offset, limit = paging(page, page_size)

    def load():
        rows, total = registry.executions.page(policy_id, status, trigger, offset, limit)
        counts = registry.executions.counts([r.execution_key for r in rows])
        return [execution_resp(r, counts[r.execution_key]) for r in rows], total

    answers, total = await anyio.to_thread.run_sync(load)
    return paged(request, answers, total, page, page_size)


@get(EXECUTIONS + "/{id:int}")
async def get_execution(request: Request, id: int = Parameter()) -> ReplicationExecution:
    who = await caller(request)
    registry = who.registry
    row = execution_row(registry, id)
    return execution_resp(row, registry.executions.counts([row.execution_key])[row.execution_key])


@get(EXECUTIONS + "/{id:int}/tasks")
async def list_tasks(request: Request, id: int = Parameter(), status: FromQuery[str | None] = None,
                     resource_type: FromQuery[str | None] = None, page: FromQuery[int] = 1,
                     page_size: FromQuery[int] = 10) -> Response:
    who = await caller(request)
    registry = who.registry
    row = execution_row(registry, id)
    offset, limit = paging(page, page_size)
    rows, total = await anyio.to_thread.run_sync(registry.executions.tasks, row.execution_key, status,
                                                 resource_type, offset, limit)
    return paged(request, [task_resp(t) for t in rows], total, page, page_size)


@get(EXECUTIONS + "/{id:int}/tasks/{task_id:int}/log", media_type="text/plain")
async def task_log(request: Request, id: int = Parameter(), task_id: int = Parameter()) -> str:
    who = await caller(request)
    registry = who.registry
    row = execution_row(registry, id)
    found = registry.executions.task(row.execution_key, task_id)
    if found is None:
        raise NotFound("replication task not found", {"task_id": task_id})
    task, lines = found
    if not lines:
        lines = [f"{task.src_resource} -> {task.dst_resource}: {task.status}"]
    return "\n".join(lines) + "\n"


ROUTES = [list_executions, get_execution, list_tasks, task_log]
