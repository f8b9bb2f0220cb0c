"""Starting a garbage collection run through Harbor's schedule route."""

from litestar import Request, Response, post
from litestar.params import JSONBody

from domain.errors import BadRequest
from infra.rest import caller


@post("/api/v2.0/system/gc/schedule", status_code=201)
async def start_gc(request: Request, data: JSONBody[dict]) -> Response:
    """`{"schedule": {"type": "Manual"}, "parameters": {"dry_run": bool, "delete_untagged": bool}}`
    starts a run now; its progress shows in GET /system/gc."""
    who = await caller(request)
    who.require_sysadmin()
    schedule = data.get("schedule") or {}
    if schedule.get("type", "Manual") != "Manual":
        raise BadRequest("only schedule.type Manual is supported; scheduled GC is not done yet",
                         {"field": "schedule.type"})
    parameters = data.get("parameters") or {}
    for key in ("dry_run", "delete_untagged"):
        if not isinstance(parameters.get(key, False), bool):
            raise BadRequest(f"parameters.{key} must be true or false", {"field": f"parameters.{key}"})
    who.registry.collector.start_in_background(parameters.get("dry_run", False),
                                               parameters.get("delete_untagged", False))
    return Response(None, status_code=201, headers={"Location": "/api/v2.0/system/gc"})
