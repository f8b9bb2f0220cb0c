"""Routes that change a project's webhook policies, and Tidemark's additions: send a job
again (`POST .../webhook/jobs/{id}/retry`) and replay a policy from a position or time
(`POST .../webhook/policies/{id}/replay {"from": ...}`)."""

import anyio.to_thread
from litestar import Request, Response, delete, post, put
from litestar.params import JSONBody, Parameter

from commands.webhooks.handlers import CreatePolicy, DeletePolicy, ReplayPolicy, RetryJob, UpdatePolicy
from domain.errors import BadRequest
from domain.webhooks.targets import PolicySpec, Target
from infra.http.rest import caller
from infra.schemas.webhooks import ReplayAccepted, ReplayRequest, WebhookPolicy
from infra.http.resources import WEBHOOKS as BASE, project_job, project_policy


def _spec(body: WebhookPolicy, name: str | None = None) -> PolicySpec:
    return PolicySpec(name=name if name is not None else body.name, description=body.description,
                      targets=[Target(type=t.type, address=t.address, auth_header=t.auth_header,
                                      skip_cert_verify=t.skip_cert_verify,
                                      payload_format=t.payload_format) for t in body.targets],
                      event_types=body.event_types, enabled=body.enabled)


@post(BASE + "/policies", status_code=201)
async def create_policy(request: Request, data: JSONBody[WebhookPolicy],
                        project_name_or_id: str = Parameter()) -> Response:
    who = await caller(request)
    project = who.project
    registry = who.registry
    created = await registry.run(registry.webhooks.create_policy, CreatePolicy(
        project.name, project.project_id, _spec(data), registry.settings.webhook_allow_link_local,
        who.actor))
    location = f"/api/v2.0/projects/{project.project_id}/webhook/policies/{created.position}"
    return Response(None, status_code=201, headers={"Location": location})


@put(BASE + "/policies/{webhook_policy_id:int}")
async def update_policy(request: Request, data: JSONBody[WebhookPolicy], project_name_or_id: str = Parameter(),
                        webhook_policy_id: int = Parameter()) -> None:
    who = await caller(request)
    project, row = await project_policy(who, webhook_policy_id)
    registry = who.registry
    await registry.run(registry.webhooks.update_policy, UpdatePolicy(
        project.name, project.project_id, row.name, _spec(data, data.name or row.name),
        registry.settings.webhook_allow_link_local, who.actor))


@delete(BASE + "/policies/{webhook_policy_id:int}", status_code=200)
async def delete_policy(request: Request, project_name_or_id: str = Parameter(),
                        webhook_policy_id: int = Parameter()) -> None:
    who = await caller(request)
    project, row = await project_policy(who, webhook_policy_id)
    await who.registry.run(who.registry.webhooks.delete_policy,
                           DeletePolicy(project.name, project.project_id, row.name, who.actor))


@post(BASE + "/policies/{webhook_policy_id:int}/replay", status_code=202)
async def replay_policy(request: Request, data: JSONBody[ReplayRequest], project_name_or_id: str = Parameter(),
                        webhook_policy_id: int = Parameter()) -> ReplayAccepted:
    """Tidemark: deliver every matching event after `from` (an event position, or an RFC 3339
    time) up to now again, as new jobs of this policy, whatever its jobs did before."""
    who = await caller(request)
    project, row = await project_policy(who, webhook_policy_id)
    registry = who.registry
    position = registry.history.resolve_at(str(data.from_), "from")
    start = max(position or 0, project.project_id - 1)  # never before this project existed
    head = registry.app.head()
    limit = registry.settings.webhook_replay_max_events
    if head - start > limit:
        raise BadRequest(f"from: a replay covers at most {limit} events (setting "
                         f"webhook_replay_max_events); this one would cover {head - start}",
                         {"field": "from"})
    outcome = await registry.run(registry.webhooks.replay_policy, ReplayPolicy(
        project.name, project.project_id, row.name, start, who.actor))
    return ReplayAccepted(policy_id=row.policy_id, from_position=start, to_position=outcome.size)


@post(BASE + "/jobs/{job_id:int}/retry", status_code=202)
async def retry_job(request: Request, project_name_or_id: str = Parameter(), job_id: int = Parameter()) -> None:
    """Tidemark: send a job that gave up (or succeeded) again, with a fresh budget of attempts."""
    who = await caller(request)
    project = who.project
    job = await project_job(who, project.name, job_id)
    registry = who.registry
    await anyio.to_thread.run_sync(registry.webhooks.retry_job, RetryJob(job.job_key, who.actor))
    await anyio.to_thread.run_sync(registry.webhook_job_projector.catch_up)  # the job list shows it
    registry.webhook_worker.wake()


ROUTES = [create_policy, update_policy, delete_policy, replay_policy, retry_job]
