"""GET routes for a project's trusted signing keys (`/projects/{p}/trusted-keys`)."""

import anyio.to_thread
from litestar import Request, get
from litestar.params import Parameter

from domain.errors import NotFound
from domain.signing.trusted_keys import check_fingerprint
from infra.http.rest import caller

KEYS = "/api/v2.0/projects/{project_name_or_id:str}/trusted-keys"


def key_resp(row, project_id: int) -> dict:
    return {"fingerprint": row.fingerprint, "name": row.name, "algorithm": row.algorithm,
            "public_key": row.pem, "project_id": project_id, "creation_time": row.added_at,
            "creator": row.added_by, "position": row.valid_from}


@get(KEYS)
async def list_trusted_keys(request: Request, project_name_or_id: str = Parameter()) -> list[dict]:
    """The keys the project trusts (oldest first)."""
    who = await caller(request)
    rows = await anyio.to_thread.run_sync(who.registry.trusted_keys.keys, who.project.name)
    return [key_resp(row, who.project.project_id) for row in rows]


@get(KEYS + "/{fingerprint:str}")
async def get_trusted_key(request: Request, project_name_or_id: str = Parameter(),
                          fingerprint: str = Parameter()) -> dict:
    who = await caller(request)
    row = await anyio.to_thread.run_sync(who.registry.trusted_keys.key, who.project.name,
                                         check_fingerprint(fingerprint))
    if row is None:
        raise NotFound("trusted key not found", {"fingerprint": fingerprint[:80]})
    return key_resp(row, who.project.project_id)
