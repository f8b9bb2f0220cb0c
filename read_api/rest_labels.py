"""GET routes for labels."""

from typing import Annotated

import anyio.to_thread
from litestar import Request, get
from litestar.params import FromQuery, Parameter, QueryParameter

from domain.errors import BadRequest, NotFound
from infra.rest import caller
from read_api.rest_projects import visible_project


def label_resp(row, project_id: int = 0) -> dict:
    return {"id": row.id, "name": row.name, "description": row.description, "color": row.color,
            "scope": row.scope, "project_id": project_id if row.scope == "p" else 0,
            "creation_time": row.creation_time, "update_time": row.update_time}


@get("/api/v2.0/labels")
async def list_labels(request: Request, label_scope: Annotated[str, QueryParameter(name="scope")] = "g",
                      project_id: FromQuery[int | None] = None,
                      name: FromQuery[str | None] = None) -> list[dict]:
    """Global labels (`scope=g`) or a project's (`scope=p&project_id=`)."""
    scope = label_scope
    who = await caller(request)
    who.require_login()
    project = None
    if scope == "p":
        if project_id is None:
            raise BadRequest("project_id is required for project labels", {"field": "project_id"})
        project = await visible_project(who, str(project_id), "label", "list")
    elif scope != "g":
        raise BadRequest("scope must be g or p", {"field": "scope"})
    rows = await anyio.to_thread.run_sync(who.registry.labels.labels, scope, project.name if project else None,
                                          name)
    return [label_resp(r, project.project_id if project else 0) for r in rows]


@get("/api/v2.0/labels/{label_id:int}")
async def get_label(request: Request, label_id: int = Parameter()) -> dict:
    who = await caller(request)
    who.require_login()
    row = await anyio.to_thread.run_sync(who.registry.labels.label, label_id)
    if row is None:
        raise NotFound("label not found", {"label_id": label_id})
    project_id = 0
    if row.scope == "p":
        project_id = (await visible_project(who, row.project, "label", "read")).project_id
    return label_resp(row, project_id)
