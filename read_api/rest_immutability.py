"""GET route for a project's tag immutability rules (Harbor's shape)."""

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from infra.http.listing import BOOL, INT, Key, Listing
from infra.http.rest import caller


def rule_resp(rule: dict) -> dict:
    repo = [{"kind": s["kind"], "decoration": s["decoration"], "pattern": s["pattern"]}
            for s in rule["repository_selectors"]]
    return {"id": rule["id"], "priority": rule["priority"], "disabled": rule["disabled"],
            "action": "immutable", "template": "immutable_template", "params": {},
            "tag_selectors": [{"kind": s["kind"], "decoration": s["decoration"], "pattern": s["pattern"]}
                              for s in rule["tag_selectors"]],
            "scope_selectors": {"repository": repo} if repo else {}}


RULE_KEYS = Listing({"id": Key(INT), "priority": Key(INT), "disabled": Key(BOOL), "action": Key(),
                     "template": Key()})


@get("/api/v2.0/projects/{project_name_or_id:str}/immutabletagrules")
async def list_rules(request: Request, project_name_or_id: str = Parameter(), page: FromQuery[int] = 1,
                     page_size: FromQuery[int] = 10, q: FromQuery[str | None] = None,
                     sort: FromQuery[str | None] = None) -> Response:
    """A project's rules, paged as Harbor (Terraform's provider reads pages until a short one)."""
    who = await caller(request)
    project = who.project
    rules = await anyio.to_thread.run_sync(who.registry.policies.immutable_rules, project.name)
    return RULE_KEYS.answer(request, [rule_resp(rule) for rule in rules], q, sort, page, page_size)
