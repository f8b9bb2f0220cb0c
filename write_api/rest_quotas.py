"""Changing a project's storage limit."""

import anyio.to_thread
from litestar import Request, put
from litestar.params import JSONBody, Parameter

from commands.policy_handlers import SetQuotaLimit
from domain.errors import BadRequest, NotFound
from infra.http.rest import caller


@put("/api/v2.0/quotas/{id:int}")
async def update_quota(request: Request, data: JSONBody[dict], id: int = Parameter()) -> None:
    """`{"hard": {"storage": N}}`: N bytes, or -1 for unlimited; never below current usage."""
    who = await caller(request)
    hard = data.get("hard")
    if not isinstance(hard, dict) or "storage" not in hard:
        raise BadRequest("hard.storage is required", {"field": "hard.storage"})
    project = await anyio.to_thread.run_sync(who.registry.queries.project_by_key, str(id), False)
    if project is None:
        raise NotFound("quota not found", {"id": id})
    await who.registry.run(who.registry.policy.set_quota_limit,
                           SetQuotaLimit(project.name, hard["storage"], who.actor))
