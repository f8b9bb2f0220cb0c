"""GET route for a project's tag immutability rules (Harbor's shape)."""

import anyio.to_thread
from litestar import Request, get
from litestar.params import Parameter

from infra.http.rest import caller


def rule_resp(rule: dict) -> dict:
    repo = [{"kind": s["kind"], "decoration": s["decoration"], "pattern": s["pattern"]}
            for s in rule["repository_selectors"]]
    return {"id": rule["id"], "priority": rule["priority"], "disabled": rule["disabled"],
            "action": "immutable", "template": "immutable_template", "params": {},
            "tag_selectors": [{"kind": s["kind"], "decoration": s["decoration"], "pattern": s["pattern"]}
                              for s in rule["tag_selectors"]],
            "scope_selectors": {"repository": repo} if repo else {}}


@get("/api/v2.0/projects/{project_name_or_id:str}/immutabletagrules")
async def list_rules(request: Request, project_name_or_id: str = Parameter()) -> list[dict]:
    who = await caller(request)
    project = who.project
    rules = await anyio.to_thread.run_sync(who.registry.policies.immutable_rules, project.name)
    return [rule_resp(rule) for rule in rules]
