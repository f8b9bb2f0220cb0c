"""GET /api/v2.0/repositories: every repository the caller may list, across projects."""

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery

from domain.iam.access import allows
from domain.errors import BadRequest
from infra.schemas.query_language import parse_query, to_sql
from infra.http.rest import caller, paged, paging
from read_api.artifacts.artifacts import repository_resp

SORTS = {"name": "r.name", "creation_time": "r.created_at", "update_time": "r.updated_at"}


def _order(sort: str | None) -> str:
    """Harbor's `sort` (`name`, `-update_time`, ... comma separated) as SQL, name last."""
    parts = []
    for key in filter(None, (sort or "").split(",")):
        column = SORTS.get(key.strip().lstrip("-"))
        if column is None:
            raise BadRequest(f"cannot sort by {key.strip()[:40]!r}; known: {', '.join(SORTS)}",
                             {"field": "sort"})
        parts.append(column + (" DESC" if key.strip().startswith("-") else ""))
    return ", ".join([*parts, "r.name"])


@get("/api/v2.0/repositories")
async def list_all_repositories(request: Request, q: FromQuery[str | None] = None,
                                sort: FromQuery[str | None] = None, page: FromQuery[int] = 1,
                                page_size: FromQuery[int] = 10) -> Response:
    """Repositories of public projects and of those the caller belongs to (all for administrators)."""
    who = await caller(request)
    offset, limit = paging(page, page_size)
    where, params = to_sql(parse_query(q, {"name"}), {"name": "r.name"})
    principal = who.principal
    projects, _ = await anyio.to_thread.run_sync(
        who.registry.queries.projects, 0, 1_000_000,
        None if principal.sysadmin or principal.kind == "robot" else principal.member_projects())
    ids = {p.name: p.project_id for p in projects
           if allows(principal, p.name, p.public, "repository", "list")}
    rows, total = await anyio.to_thread.run_sync(
        who.registry.history.repositories_in, None if principal.sysadmin else list(ids), where, params,
        offset, limit, _order(sort))
    return paged(request, [repository_resp(r, ids.get(r.project, 0)) for r in rows], total, page, page_size)
