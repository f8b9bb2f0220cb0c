"""Harbor's job queue actions (stop, pause, resume) on Tidemark's log followers: none of them
maps to something true, so each is refused with Harbor's 422 and the reason (ADR 0029)."""

import anyio.to_thread
import msgspec
from litestar import Request, put
from litestar.params import JSONBody, Parameter

from domain.errors import BadRequest, NotFound, Unprocessable
from infra.http.rest import caller

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
    """Refused for every queue: what would be true is said in the error."""
    who = await caller(request)
    if data.action not in ACTIONS:
        raise BadRequest(f"action must be one of {', '.join(ACTIONS)}", {"field": "action"})
    queues = await anyio.to_thread.run_sync(who.registry.job_service.queues)
    if job_type != "all" and job_type not in {queue["job_type"] for queue in queues}:
        raise NotFound("no such job queue", {"job_type": job_type[:128]})
    raise Unprocessable(f"cannot {data.action} {job_type}: {WHY[data.action]}", {"action": data.action})
