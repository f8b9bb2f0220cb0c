"""GET routes for labels."""

from typing import Annotated

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter, QueryParameter

from infra.http.listing import INT, TIME, Key, Listing
from infra.http.rest import caller


def label_resp(row, project_id: int = 0) -> dict:
    return {"id": row.id, "name": row.name, "description": row.description, "color": row.color,
            "scope": row.scope, "project_id": project_id if row.scope == "p" else 0,
            "creation_time": row.creation_time, "update_time": row.update_time}


LABEL_KEYS = Listing({"id": Key(INT), "name": Key(), "description": Key(), "color": Key(), "scope": Key(),
                      "project_id": Key(INT), "creation_time": Key(TIME), "update_time": Key(TIME)})


@get("/api/v2.0/labels")
async def list_labels(request: Request, label_scope: Annotated[str, QueryParameter(name="scope")] = "g",
                      project_id: FromQuery[int | None] = None, name: FromQuery[str | None] = None,
                      q: FromQuery[str | None] = None, sort: FromQuery[str | None] = None,
                      page: FromQuery[int] = 1, page_size: FromQuery[int] = 10) -> Response:
    """Global labels (`scope=g`) or a project's (`scope=p&project_id=`)."""
    scope = label_scope
    who = await caller(request)
    project = who.project  # scope=p: the project_id's project, checked by the guard
    rows = await anyio.to_thread.run_sync(who.registry.labels.labels, scope, project.name if project else None,
                                          name)
    items = [label_resp(r, project.project_id if project else 0) for r in rows]
    return LABEL_KEYS.answer(request, items, q, sort, page, page_size)


@get("/api/v2.0/labels/{label_id:int}")
async def get_label(request: Request, label_id: int = Parameter()) -> dict:
    who = await caller(request)
    return label_resp(who.target, who.project.project_id if who.project else 0)
