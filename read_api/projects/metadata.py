"""GET routes for a project's metadata (`/projects/{p}/metadatas`), as maps of strings."""

from litestar import Request, get
from litestar.params import Parameter

from domain.errors import NotFound
from infra.http.rest import caller
from read_api.projects.projects import project_metadata


@get("/api/v2.0/projects/{project_name_or_id:str}/metadatas")
async def list_metadata(request: Request, project_name_or_id: str = Parameter()) -> dict[str, str]:
    """Every metadata key the project has, `retention_id` included when it has a policy."""
    who = await caller(request)
    _, metadata = await project_metadata(who, who.project)
    return metadata


@get("/api/v2.0/projects/{project_name_or_id:str}/metadatas/{meta_name:str}")
async def get_metadata(request: Request, project_name_or_id: str = Parameter(),
                       meta_name: str = Parameter()) -> dict[str, str]:
    who = await caller(request)
    _, metadata = await project_metadata(who, who.project)
    if meta_name not in metadata:
        raise NotFound(f"metadata {meta_name[:64]} is not set", {"meta_name": meta_name[:64]})
    return {meta_name: metadata[meta_name]}
