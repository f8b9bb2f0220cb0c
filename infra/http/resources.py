"""Finding what a REST path names, or a 404 in Harbor's form: shared by the read and the
write handlers (neither side imports the other). Projects, and retention policies by their
stored project id, were found and checked by the permission guard (infra/http/rest_guard.py)
before a handler runs; these find what lies inside them."""

from urllib.parse import unquote

import anyio.to_thread
from litestar import Request

from domain.errors import NotFound
from domain.names import check_repository, is_digest, is_tag
from infra.http.rest import Caller, caller

RETENTIONS = "/api/v2.0/retentions"
WEBHOOKS = "/api/v2.0/projects/{project_name_or_id:str}/webhook"


def full_repository_name(project: str, name: str) -> str:
    """Harbor clients send `a%252Fb` for `a/b` (encoded twice); it arrives as `a+b`."""
    return check_repository(f"{project}/{unquote(name).replace('+', '/')}")


async def project_for(request: Request):
    """The caller and the project the path names (checked by the permission guard)."""
    who = await caller(request)
    return who, who.project


async def find_artifact(registry, name: str, reference: str, position: int | None):
    """The artifact a tag or digest names in repository `name` (at `position`, or now)."""
    history = registry.history
    if is_digest(reference):
        digest = reference
    elif is_tag(reference):
        tags = [t for t in await anyio.to_thread.run_sync(history.tags, name, None, position)
                if t.name == reference]
        if not tags:
            raise NotFound("artifact not found", {"reference": reference})
        digest = tags[0].digest
    else:
        raise NotFound("artifact not found", {"reference": reference[:200]})
    row = await anyio.to_thread.run_sync(history.artifact, name, digest, position)
    if row is None:
        raise NotFound("artifact not found", {"reference": reference[:200]})
    return row


async def user_by_id(registry, user_id: int):
    row = await anyio.to_thread.run_sync(registry.iam_queries.user_by_id, user_id)
    if row is None:
        raise NotFound("user not found", {"user_id": user_id})
    return row


def retention_policy(who: Caller):
    """The policy the path names and its project (found by its stored project id, and checked,
    by the permission guard)."""
    return who.target, who.project


async def retention_execution(who: Caller, policy_id: int, execution_id: int):
    row = await anyio.to_thread.run_sync(who.registry.retention.run, execution_id)
    if row is None or row.policy_id != policy_id:
        raise NotFound("retention execution not found", {"eid": execution_id})
    return row


async def project_policy(who: Caller, policy_id: int):
    """(project, policy): the project the path names (checked by the permission guard) and
    its webhook policy; 404 if it has none with that id."""
    project = who.project
    row = await anyio.to_thread.run_sync(who.registry.webhook_queries.policy, project.name, policy_id)
    if row is None:
        raise NotFound("webhook policy not found", {"id": policy_id})
    return project, row


async def project_job(who: Caller, project: str, job_id: int):
    """A webhook job of this project: of an event since it was created (a deleted project of
    the same name had jobs too, with their target addresses: not this one's)."""
    job = await anyio.to_thread.run_sync(who.registry.webhook_queries.job, project, job_id, True)
    if job is None or job.position < who.project.project_id:
        raise NotFound("webhook job not found", {"id": job_id})
    return job
