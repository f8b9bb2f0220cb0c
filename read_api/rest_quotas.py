"""Harbor's quota routes: each project's storage limit (`hard`) and usage (`used`)."""

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from domain.errors import BadRequest, NotFound
from infra.http.listing import EVERY, INT, TIME, Key, Listing
from infra.http.rest import caller


def quota_resp(project, row) -> dict:
    hard, used, created, updated = (row[1], row[2], row[3], row[4]) if row else (-1, 0, project.created_at,
                                                                                  project.created_at)
    return {"id": project.project_id, "ref": {"id": project.project_id, "name": project.name,
                                              "owner_name": project.created_by},
            "hard": {"storage": hard}, "used": {"storage": used},
            "creation_time": created, "update_time": updated}


# Harbor sorts quotas by `hard.storage`, `used.storage`, `creation_time` and `update_time`.
QUOTA_KEYS = Listing({"id": Key(INT), "creation_time": Key(TIME), "update_time": Key(TIME),
                      "hard.storage": Key(INT, read=lambda q: q["hard"]["storage"]),
                      "used.storage": Key(INT, read=lambda q: q["used"]["storage"])}, sorts=None)


@get("/api/v2.0/quotas")
async def list_quotas(request: Request, reference: FromQuery[str | None] = None,
                      reference_id: FromQuery[str | None] = None, page: FromQuery[int] = 1,
                      page_size: FromQuery[int] = 10, sort: FromQuery[str | None] = None) -> Response:
    who = await caller(request)
    if reference not in (None, "", "project"):
        raise BadRequest(f"unknown quota reference {reference[:40]!r}: Tidemark's quotas are per project",
                         {"reference": reference[:40]})
    projects, _ = await anyio.to_thread.run_sync(who.registry.queries.projects, 0, EVERY, None)
    if reference_id:
        projects = [p for p in projects if str(p.project_id) == reference_id]
    quotas = await anyio.to_thread.run_sync(who.registry.policies.quotas)
    items = [quota_resp(p, quotas.get(p.name)) for p in projects]
    return QUOTA_KEYS.answer(request, items, None, sort, page, page_size)


@get("/api/v2.0/quotas/{id:int}")
async def get_quota(request: Request, id: int = Parameter()) -> dict:
    who = await caller(request)
    project = await anyio.to_thread.run_sync(who.registry.queries.project_by_key, str(id), False)
    if project is None:
        raise NotFound("quota not found", {"id": id})
    return quota_resp(project, await anyio.to_thread.run_sync(who.registry.policies.quota, project.name))
