"""Routes that change a project's metadata one key at a time (`/projects/{p}/metadatas`);
the values are checked as on project create and update (domain/project_settings.py)."""

from typing import Any

from litestar import Request, delete, post, put
from litestar.params import JSONBody, Parameter

from commands.project_settings import ConfigureProject, RemoveProjectMetadata
from domain.errors import BadRequest
from infra.http.rest import caller


def _keys(data: Any) -> dict[str, object]:
    if not isinstance(data, dict) or not data:
        raise BadRequest("the body must be a map of metadata keys to string values", {"field": "metadata"})
    return data


@post("/api/v2.0/projects/{project_name_or_id:str}/metadatas", status_code=200)
async def add_metadata(request: Request, data: JSONBody[dict[str, Any]],
                       project_name_or_id: str = Parameter()) -> None:
    """Adds keys that are not set yet (409 for one that is: update it with PUT)."""
    who = await caller(request)
    await who.registry.run(who.registry.settings_commands.configure, ConfigureProject(
        who.project.name, _keys(data), who.actor, adding=True))


@put("/api/v2.0/projects/{project_name_or_id:str}/metadatas/{meta_name:str}")
async def update_metadata(request: Request, data: JSONBody[dict[str, Any]], project_name_or_id: str = Parameter(),
                          meta_name: str = Parameter()) -> None:
    """Sets the key the path names (also when it was not set); the body holds that one key."""
    who = await caller(request)
    values = _keys(data)
    if set(values) != {meta_name}:
        raise BadRequest(f"the body must hold exactly the key {meta_name[:64]!r}", {"field": "metadata"})
    await who.registry.run(who.registry.settings_commands.configure, ConfigureProject(
        who.project.name, values, who.actor))


@delete("/api/v2.0/projects/{project_name_or_id:str}/metadatas/{meta_name:str}", status_code=200)
async def delete_metadata(request: Request, project_name_or_id: str = Parameter(),
                          meta_name: str = Parameter()) -> None:
    who = await caller(request)
    await who.registry.run(who.registry.settings_commands.remove_metadata, RemoveProjectMetadata(
        who.project.name, meta_name, who.actor))
