"""Routes that change tag retention: policies, starting and stopping executions."""

from uuid import UUID

import anyio.to_thread
from litestar import Request, Response, delete, patch, post, put
from litestar.params import FromQuery, JSONBody, Parameter

from commands.retention_handlers import CreateRetentionPolicy, DeleteRetentionPolicy, UpdateRetentionPolicy
from domain.errors import BadRequest
from domain.retention.policy import PolicySpec, RetentionRule
from domain.selectors import Selector
from infra.schemas.policies import RetentionActionBody, RetentionExecutionBody, RetentionPolicyBody
from infra.http.rest import caller
from infra.http.rest_guard import position_in_window, project_by_id
from infra.http.resources import RETENTIONS as BASE, retention_execution, retention_policy


def to_spec(body: RetentionPolicyBody) -> PolicySpec:
    """The domain policy from Harbor's shape (the domain checks the content)."""
    def selectors(items):
        return [Selector(kind=s.kind, decoration=s.decoration, pattern=s.pattern, extras=s.extras) for s in items]
    rules = []
    for index, rule in enumerate(body.rules):
        unknown = set(rule.scope_selectors) - {"repository"}
        if unknown:
            raise BadRequest(f"rules[{index}].scope_selectors: only repository selectors exist",
                             {"field": f"rules[{index}].scope_selectors"})
        rules.append(RetentionRule(id=0, template=rule.template, params=rule.params,
                                   tag_selectors=selectors(rule.tag_selectors),
                                   repository_selectors=selectors(rule.scope_selectors.get("repository", [])),
                                   disabled=rule.disabled, priority=rule.priority, action=rule.action))
    trigger = body.trigger
    cron = (trigger.settings.get("cron") or "") if trigger else ""
    if not isinstance(cron, str):
        raise BadRequest("trigger.settings.cron must be a string", {"field": "trigger.settings.cron"})
    return PolicySpec(rules=rules, trigger=trigger.kind if trigger else "Manual", cron=cron,
                      algorithm=body.algorithm)


@post(BASE, status_code=201)
async def create_retention(request: Request, data: JSONBody[RetentionPolicyBody]) -> Response:
    who = await caller(request)
    if data.scope is None or data.scope.level != "project" or data.scope.ref <= 0:
        raise BadRequest("scope.ref must be a project id (scope is {\"level\": \"project\", \"ref\": <id>})",
                         {"field": "scope.ref"})
    project = await project_by_id(who, data.scope.ref, "tag-retention", "create")
    spec = to_spec(data)
    outcome = await who.registry.run(who.registry.retention_commands.create_policy,
                                     CreateRetentionPolicy(project.name, project.project_id, spec, who.actor))
    return Response(None, status_code=201, headers={"Location": f"{BASE}/{outcome.size}"})


@put(BASE + "/{policy_id:int}", status_code=200)
async def update_retention(request: Request, data: JSONBody[RetentionPolicyBody],
                           policy_id: int = Parameter()) -> None:
    who = await caller(request)
    row, project = retention_policy(who)
    if data.scope is not None and data.scope.ref not in (0, row.project_id):
        raise BadRequest("scope.ref: a policy cannot move to another project", {"field": "scope.ref"})
    await who.registry.run(who.registry.retention_commands.update_policy,
                           UpdateRetentionPolicy(project.name, row.project_id, to_spec(data), who.actor))


@delete(BASE + "/{policy_id:int}", status_code=200)
async def delete_retention(request: Request, policy_id: int = Parameter()) -> None:
    who = await caller(request)
    row, project = retention_policy(who)
    await who.registry.run(who.registry.retention_commands.delete_policy,
                           DeleteRetentionPolicy(project.name, row.project_id, who.actor))


@post(BASE + "/{policy_id:int}/executions", status_code=201)
async def start_retention(request: Request, data: JSONBody[RetentionExecutionBody], policy_id: int = Parameter(),
                          at: FromQuery[str | None] = None) -> Response:
    """Start a run; `dry_run` only reports. Tidemark: `at` (query or body; a log position or an
    RFC 3339 time) evaluates a dry run against that past state."""
    who = await caller(request)
    row, _ = retention_policy(who)
    position = await position_in_window(who, at or data.at)
    if position is not None and not data.dry_run:
        raise BadRequest("at: only a dry run can be evaluated against the past", {"field": "at"})
    execution_id = await anyio.to_thread.run_sync(
        lambda: who.registry.retention_runner.start(row, data.dry_run, "MANUAL", who.actor, at_position=position))
    return Response(None, status_code=201, headers={"Location": f"{BASE}/{policy_id}/executions/{execution_id}"})


@patch(BASE + "/{policy_id:int}/executions/{execution_id:int}", status_code=200)
async def stop_retention(request: Request, data: JSONBody[RetentionActionBody], policy_id: int = Parameter(),
                         execution_id: int = Parameter()) -> None:
    """`{"action": "stop"}`: the run stops before its next deletion and ends as Stopped. A run
    that has ended already is left as it is (200, nothing recorded), as Harbor answers."""
    who = await caller(request)
    if data.action != "stop":
        raise BadRequest("action must be stop", {"field": "action"})
    run = await retention_execution(who, policy_id, execution_id)
    if run.status != "Running":
        return
    await anyio.to_thread.run_sync(who.registry.retention_runner.stop, UUID(run.run), who.actor)
