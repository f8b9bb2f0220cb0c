"""Harbor 2.13's extended audit log (`/auditlog-exts`): the same entries as /audit-logs, with
event types, a description and the operation's result."""

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from domain.errors import BadRequest
from infra.http.rest import caller, paged, paging
from infra.http.rest_guard import history_window
from projections.audit.queries import EXT_COLUMNS, ext_entry

SORTS = {None: True, "": True, "-op_time": True, "op_time": False, "-id": True, "id": False}


def newest_first(sort: str | None) -> bool:
    """Harbor's audit-log `sort`: by time (or id), newest first unless `op_time` or `id`."""
    if sort not in SORTS:
        raise BadRequest("sort must be op_time or -op_time", {"field": "sort"})
    return SORTS[sort]


async def _page(request: Request, who, q, project, page: int, page_size: int, sort, window=None) -> Response:
    offset, limit = paging(page, page_size)
    descending = newest_first(sort)
    audit = who.registry.audit
    rows, total = await anyio.to_thread.run_sync(
        lambda: audit.logs(q, project, offset, limit, descending, window=window, columns=EXT_COLUMNS))
    return paged(request, [ext_entry(r) for r in rows], total, page, page_size)


@get("/api/v2.0/auditlog-exts")
async def audit_log_exts(request: Request, q: FromQuery[str | None] = None, page: FromQuery[int] = 1,
                         page_size: FromQuery[int] = 10, sort: FromQuery[str | None] = None) -> Response:
    """Every audit entry, newest first; `q` keys: event_type, operation, resource_type, resource,
    username, op_time (a range `[a~b]`), project, request_id. Entries trimmed by
    /system/purgeaudit are gone from here; the event log still holds their events."""
    who = await caller(request)
    return await _page(request, who, q, None, page, page_size, sort)


@get("/api/v2.0/auditlog-exts/events")
async def audit_log_event_types(request: Request) -> list[dict]:
    """The event types audit entries have (`create_artifact`, `pull_artifact`, ...)."""
    who = await caller(request)
    return [{"event_type": t} for t in who.registry.audit_event_types()]


@get("/api/v2.0/projects/{project_name:str}/auditlog-exts")
async def project_log_exts(request: Request, project_name: str = Parameter(), q: FromQuery[str | None] = None,
                           page: FromQuery[int] = 1, page_size: FromQuery[int] = 10,
                           sort: FromQuery[str | None] = None) -> Response:
    """A project's audit entries (of its current identity's history, as /projects/{p}/logs)."""
    who = await caller(request)
    window = await history_window(who)
    return await _page(request, who, q, who.project.name, page, page_size, sort, window)

ROUTES = [audit_log_exts, audit_log_event_types, project_log_exts]
