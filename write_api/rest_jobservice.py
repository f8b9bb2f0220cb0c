"""Harbor's job queue actions (stop, pause, resume). Pausing and resuming the SCHEDULER queue
pauses and resumes every schedule (an event); nothing else maps to something true, so the other
actions are refused with Harbor's 422 and the reason (ADR 0029)."""

import anyio.to_thread
import msgspec
from litestar import Request, put
from litestar.params import JSONBody, Parameter

from commands.schedule_pause_handlers import PauseSchedules
from domain.errors import BadRequest, NotFound, Unprocessable
from infra.http.rest import caller

SCHEDULER = "SCHEDULER"
ACTIONS = ("stop", "pause", "resume")
WHY = {
    "stop": "a log follower never drops the events it has not handled: it catches up instead",
    "pause": "a log follower cannot be paused: the views and workers it feeds would silently fall behind",
    "resume": "a log follower is never paused, so there is nothing to resume",
}


class ActionRequest(msgspec.Struct):
    action: str = ""


@put("/api/v2.0/jobservice/queues/{job_type:str}")
async def queue_action(request: Request, data: JSONBody[ActionRequest], job_type: str = Parameter()) -> None:
    """`SCHEDULER`: pause or resume every schedule. A follower's queue: refused, with why."""
    who = await caller(request)
    if data.action not in ACTIONS:
        raise BadRequest(f"action must be one of {', '.join(ACTIONS)}", {"field": "action"})
    if job_type == SCHEDULER:
        if data.action == "stop":
            raise Unprocessable("cannot stop SCHEDULER: no scheduled run waits in a queue to be dropped; "
                                "pause it instead", {"action": data.action})
        await who.registry.run(who.registry.schedule_pause_commands.set_paused,
                               PauseSchedules(data.action == "pause", who.actor))
        return
    queues = await anyio.to_thread.run_sync(who.registry.job_service.queues)
    if job_type != "all" and job_type not in {queue["job_type"] for queue in queues}:
        raise NotFound("no such job queue", {"job_type": job_type[:128]})
    raise Unprocessable(f"cannot {data.action} {job_type}: {WHY[data.action]}", {"action": data.action})
