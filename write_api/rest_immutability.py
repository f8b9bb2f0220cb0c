"""Routes that change a project's tag immutability rules."""

import msgspec
from litestar import Request, Response, delete, post, put
from litestar.params import JSONBody, Parameter

from commands.policy_handlers import DeleteImmutableRule, PutImmutableRule
from domain.immutability import ImmutableRule
from domain.selectors import Selector
from infra.schemas.policies import ImmutableRuleBody, ImmutableRuleUpdate
from infra.http.rest import caller

BASE = "/api/v2.0/projects/{project_name_or_id:str}/immutabletagrules"


def to_rule(body: ImmutableRuleBody, rule_id: int) -> ImmutableRule:
    def selectors(items):
        return [Selector(kind=s.kind, decoration=s.decoration, pattern=s.pattern, extras=s.extras)
                for s in items]
    return ImmutableRule(id=rule_id, priority=body.priority, disabled=body.disabled,
                         tag_selectors=selectors(body.tag_selectors),
                         repository_selectors=selectors(body.scope_selectors.get("repository", [])))


@post(BASE, status_code=201)
async def create_rule(request: Request, data: JSONBody[ImmutableRuleBody],
                      project_name_or_id: str = Parameter()) -> Response:
    who = await caller(request)
    project = who.project
    outcome = await who.registry.run(who.registry.policy.put_immutable_rule,
                                     PutImmutableRule(project.name, to_rule(data, 0), who.actor))
    return Response(None, status_code=201, headers={
        "Location": f"/api/v2.0/projects/{project.project_id}/immutabletagrules/{outcome.size}"})


@put(BASE + "/{immutable_rule_id:int}")
async def update_rule(request: Request, data: JSONBody[ImmutableRuleUpdate], project_name_or_id: str = Parameter(),
                      immutable_rule_id: int = Parameter()) -> None:
    who = await caller(request)
    project = who.project
    given = {name: value for name in ("tag_selectors", "scope_selectors", "priority", "disabled")
             if (value := getattr(data, name)) is not msgspec.UNSET}
    body = ImmutableRuleBody(tag_selectors=given.get("tag_selectors", []),
                             scope_selectors=given.get("scope_selectors", {}),
                             priority=given.get("priority", 0), disabled=given.get("disabled", False))
    only = frozenset({"scope_selectors": "repository_selectors"}.get(name, name) for name in given)
    await who.registry.run(who.registry.policy.put_immutable_rule,
                           PutImmutableRule(project.name, to_rule(body, immutable_rule_id), who.actor, only))


@delete(BASE + "/{immutable_rule_id:int}", status_code=200)
async def delete_rule(request: Request, project_name_or_id: str = Parameter(),
                      immutable_rule_id: int = Parameter()) -> None:
    who = await caller(request)
    project = who.project
    await who.registry.run(who.registry.policy.delete_immutable_rule,
                           DeleteImmutableRule(project.name, immutable_rule_id, who.actor))
