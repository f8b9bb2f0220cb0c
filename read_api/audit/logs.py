"""The audit log (Harbor's shape plus client address and request id) and a
project's changes between two moments."""

import base64
from typing import Annotated

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter, QueryParameter

from domain.errors import BadRequest
from domain.input_limits import parse_natural
from infra.http.rest_guard import history_window
from infra.http.rest import caller, paged, paging
from read_api.audit.extended import newest_first
from read_api.event_feed import FeedFilter, read_page


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        position = parse_natural(base64.urlsafe_b64decode(value.encode() + b"==").decode(), "cursor")
    except (ValueError, UnicodeError, BadRequest):
        position = None
    if position is None:
        raise BadRequest("cursor is not one this API gave out", {"field": "cursor"})
    return position


def _with_cursor(request: Request, rows: list, limit: int, response: Response) -> Response:
    if len(rows) == limit:
        token = base64.urlsafe_b64encode(str(rows[-1].id).encode()).decode().rstrip("=")
        response.headers["X-Next-Cursor"] = token
        link = f'<{request.url.path}?cursor={token}&page_size={limit}>; rel="next"'
        response.headers["Link"] = link if "Link" not in response.headers else response.headers["Link"]
    return response


@get("/api/v2.0/audit-logs")
async def audit_logs(request: Request, q: FromQuery[str | None] = None, page: FromQuery[int] = 1,
                     page_size: FromQuery[int] = 10, sort: FromQuery[str | None] = None,
                     cursor: FromQuery[str | None] = None) -> Response:
    """Harbor's offset pages, or (Tidemark addition) `cursor=` from `X-Next-Cursor` for
    keyset pages that stay fast however deep they go."""
    who = await caller(request)
    offset, limit = paging(page, page_size)
    rows, total = await anyio.to_thread.run_sync(who.registry.audit.logs, q, None, offset, limit,
                                                 newest_first(sort), _cursor(cursor))
    if cursor is not None:
        return _with_cursor(request, rows, limit, Response(rows))
    return _with_cursor(request, rows, limit, paged(request, rows, total, page, page_size))


@get("/api/v2.0/projects/{project_name:str}/logs")
async def project_logs(request: Request, project_name: str = Parameter(), q: FromQuery[str | None] = None,
                       page: FromQuery[int] = 1, page_size: FromQuery[int] = 10,
                       sort: FromQuery[str | None] = None) -> Response:
    who = await caller(request)
    project = who.project
    offset, limit = paging(page, page_size)
    descending = newest_first(sort)
    window = await history_window(who)
    rows, total = await anyio.to_thread.run_sync(
        lambda: who.registry.audit.logs(q, project.name, offset, limit, descending, window=window))
    return paged(request, rows, total, page, page_size)


@get("/api/v2.0/projects/{project_name:str}/changes")
async def project_changes(request: Request, project_name: str = Parameter(),
                          from_: Annotated[str | None, QueryParameter(name="from")] = None,
                          to: FromQuery[str | None] = None, limit: FromQuery[int] = 1000) -> list[dict]:
    """Tidemark addition: what changed in a project between two moments (times or positions),
    as public events with actor and request id, in log order."""
    who = await caller(request)
    project = who.project
    if not 1 <= limit <= 10_000:
        raise BadRequest("limit must be between 1 and 10000", {"field": "limit"})
    history = who.registry.history
    start = await anyio.to_thread.run_sync(history.resolve_at, from_, "from") or 0
    stop = await anyio.to_thread.run_sync(history.resolve_at, to, "to")
    if stop is not None and stop < start:
        raise BadRequest("to is before from", {"field": "to"})
    feed = FeedFilter(who.principal, who.registry, None, project.name)
    events, _ = await anyio.to_thread.run_sync(read_page, who.registry, start, limit, feed)
    return [e for e in events if stop is None or e["position"] <= stop]
