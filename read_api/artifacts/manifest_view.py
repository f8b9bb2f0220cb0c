"""Tidemark addition: an artifact's manifest as stored, through the REST API (`GET .../artifacts/
{reference}/manifest`, `at=` too), for whoever may read the artifact: what the portal shows as
layers and sizes, and what a script signed in to the REST API (a portal session) can read
without a registry token. The bytes are the stored ones, with their media type and digest."""

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from domain.artifacts.manifest_format import MAX_MANIFEST_BYTES
from domain.errors import NotFound, Unprocessable
from infra.http.resources import find_artifact, full_repository_name, project_for
from infra.http.rest_guard import position_in_window


@get("/api/v2.0/projects/{project_name:str}/repositories/{repository_name:str}/artifacts/{reference:str}"
     "/manifest")
async def get_manifest(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                       reference: str = Parameter(), at: FromQuery[str | None] = None) -> Response:
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    position = await position_in_window(who, at)
    row = await find_artifact(who.registry, name, reference, position)
    stored = await anyio.to_thread.run_sync(who.registry.blobs.size, row.digest)
    if stored is None:  # a past artifact collected since
        raise NotFound("the manifest is no longer stored", {"digest": row.digest})
    if stored > MAX_MANIFEST_BYTES:
        raise Unprocessable("the manifest is larger than this registry stores")
    body = await anyio.to_thread.run_sync(who.registry.blobs.read, row.digest)
    return Response(body, media_type=row.media_type, headers={"Docker-Content-Digest": row.digest})
