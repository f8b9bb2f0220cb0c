"""Routes that start and stop replication executions (Harbor's POST /replication/executions
and PUT /replication/executions/{id})."""

import threading

import anyio.to_thread
from litestar import Request, Response, post, put
from litestar.params import JSONBody, Parameter

from commands.replication.executions import StartExecution
from infra.http.replication import EXECUTIONS, execution_row
from infra.http.rest import caller
from infra.schemas.replication import StartReplicationExecution

# Starts in this process one at a time, so single_active_replication sees the execution a
# concurrent start just made (the view is caught up before the lock is released).
_STARTING = threading.Lock()


@post(EXECUTIONS, status_code=201)
async def start_execution(request: Request, data: JSONBody[StartReplicationExecution]) -> Response:
    who = await caller(request)
    registry = who.registry

    def start():
        with _STARTING:
            active = registry.executions.active_count(data.policy_id)
            _, outcome = registry.execution_commands.start(StartExecution(data.policy_id, "manual", who.actor),
                                                           active)
            registry.execution_projector.catch_up()
            return outcome

    outcome = await anyio.to_thread.run_sync(start)
    registry.replication_worker.wake()
    return Response(None, status_code=201, headers={"Location": f"{EXECUTIONS}/{outcome.position}"})


@put(EXECUTIONS + "/{id:int}", status_code=200)
async def stop_execution(request: Request, id: int = Parameter()) -> None:
    who = await caller(request)
    registry = who.registry
    row = execution_row(registry, id)

    def stop():
        registry.execution_commands.stop(row.execution_key, who.actor)
        registry.execution_projector.catch_up()

    await anyio.to_thread.run_sync(stop)
    registry.replication_worker.wake()


ROUTES = [start_execution, stop_execution]
