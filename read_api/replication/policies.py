"""GET routes of replication policies (Harbor's /replication/policies), read from the
replication set-up's one small stream (ADR 0036)."""

from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from infra.http.replication import POLICIES, POLICY_KEYS, current_setup, policy_resp, stored_policy
from infra.http.rest import caller
from infra.schemas.replication import ReplicationPolicy


@get(POLICIES)
async def list_policies(request: Request, name: FromQuery[str | None] = None, q: FromQuery[str | None] = None,
                        sort: FromQuery[str | None] = None, page: FromQuery[int] = 1,
                        page_size: FromQuery[int] = 10) -> Response:
    who = await caller(request)
    setup = await current_setup(who)
    answers = [policy_resp(who.registry, setup, i, item) for i, item in sorted(setup.policies.items())
               if not name or name in item["name"]]
    return POLICY_KEYS.answer(request, answers, q, sort, page, page_size)


@get(POLICIES + "/{id:int}")
async def get_policy(request: Request, id: int = Parameter()) -> ReplicationPolicy:
    who = await caller(request)
    setup, item = await stored_policy(who, id)
    return policy_resp(who.registry, setup, id, item)


ROUTES = [list_policies, get_policy]
