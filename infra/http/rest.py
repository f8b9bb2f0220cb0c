"""Plumbing for the Harbor-shaped management API: errors, callers, paging."""

from typing import Any
from urllib.parse import urlencode

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException

from domain.iam.access import Principal
from domain.errors import Forbidden, RegistryError, Unauthorized
from infra.http.errors import status_for

log = structlog.get_logger("rest")

# OCI-side codes as Harbor's REST API names them.
HARBOR_CODES = {"DENIED": "FORBIDDEN", "NAME_UNKNOWN": "NOT_FOUND", "MANIFEST_UNKNOWN": "NOT_FOUND",
                "BLOB_UNKNOWN": "NOT_FOUND", "NAME_INVALID": "BAD_REQUEST",
                "MANIFEST_INVALID": "BAD_REQUEST", "DIGEST_INVALID": "BAD_REQUEST",
                "TOOMANYREQUESTS": "TOO_MANY_REQUEST"}


def harbor_error(status: int, code: str, message: str) -> Response:
    return Response({"errors": [{"code": code, "message": message}]}, status_code=status,
                    media_type="application/json")


def no_such_resource() -> Response:
    """A path no route serves."""
    return harbor_error(404, "NOT_FOUND", "no such resource")


def registry_error_handler(request: Request, error: RegistryError) -> Response:
    response = harbor_error(status_for(error), HARBOR_CODES.get(error.code, error.code), error.message)
    # A script's client answers the Basic challenge; the portal's requests say who they are,
    # so that the browser does not put up its own sign-in dialog over the portal's.
    if isinstance(error, Unauthorized) and request.headers.get("x-requested-with") != "XMLHttpRequest":
        response.headers["www-authenticate"] = 'Basic realm="tidemark"'
    if error.retry_after is not None:
        response.headers["retry-after"] = str(error.retry_after)
    return response


def http_error_handler(request: Request, error: HTTPException) -> Response:
    if isinstance(error, ValidationException):
        detail = error.extra if isinstance(error.extra, list) else []
        # each wrong field with what was wrong ("metadata: Object contains unknown field `x`")
        fields = ", ".join(": ".join(str(part)[:200] for part in (item.get("key"), item.get("message")) if part)
                           for item in detail if isinstance(item, dict))
        message = f"invalid request: {error.detail}" + (f" ({fields})" if fields else "")
        return harbor_error(400, "BAD_REQUEST", message)
    if isinstance(error, NotFoundException):
        return no_such_resource()
    code = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 405: "METHOD_NOT_ALLOWED"}.get(error.status_code, "BAD_REQUEST")
    if error.status_code >= 500:
        return internal_error_handler(request, error)
    return harbor_error(error.status_code, code, str(error.detail))


def internal_error_handler(request: Request, error: Exception) -> Response:
    log.error("unhandled error", request_id=request.scope.get("state", {}).get("request_id"),
              exc_info=error)
    return harbor_error(500, "INTERNAL_SERVER_ERROR", "internal error")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    RegistryError: registry_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}


class Caller:
    """The REST request's caller and the registry, with what the permission guard found
    (infra/http/rest_guard.py): the project the path names, and the user, robot, label or
    retention policy it names (`target`)."""

    def __init__(self, principal: Principal, registry: Any, request: Request) -> None:
        self.principal = principal
        self.registry = registry
        self.request = request
        self.project: Any = None
        self.target: Any = None

    @property
    def actor(self):
        from domain.base import Actor

        client = self.request.scope.get("client")
        return Actor(name=self.principal.name, client_ip=client[0] if client else "",
                     request_id=self.request.scope.get("state", {}).get("request_id", ""))

    def refuse(self, message: str = "insufficient privileges") -> RegistryError:
        if self.principal.anonymous:
            return Unauthorized("authentication required")
        return Forbidden(message)

    def require_login(self) -> None:
        if self.principal.anonymous:
            raise Unauthorized("authentication required")


async def caller(request: Request) -> Caller:
    """The caller of this request, identified once (by the permission guard, before the handler)."""
    state = request.scope.setdefault("state", {})
    who = state.get("caller")
    if who is None:
        registry = request.app.state.registry
        principal = await registry.authorizer.rest_principal(request)
        who = state["caller"] = Caller(principal, registry, request)
    return who


def paging(page: int, page_size: int) -> tuple[int, int]:
    """(offset, limit) from Harbor's page and page_size (1-based, at most 100)."""
    from domain.errors import BadRequest

    if page < 1 or page_size < 1 or page_size > 100:
        raise BadRequest("page must be >= 1 and page_size between 1 and 100", {"field": "page_size"})
    if (page - 1) * page_size >= 1 << 63:  # beyond what a store can skip to
        raise BadRequest("page is out of range", {"field": "page"})
    return (page - 1) * page_size, page_size


def paged(request: Request, items: Any, total: int, page: int, page_size: int) -> Response:
    headers = {"X-Total-Count": str(total)}
    links = []
    query = dict(request.query_params)
    if page > 1:
        links.append(f'<{request.url.path}?{urlencode({**query, "page": page - 1})}>; rel="prev"')
    if page * page_size < total:
        links.append(f'<{request.url.path}?{urlencode({**query, "page": page + 1})}>; rel="next"')
    if links:
        headers["Link"] = ", ".join(links)
    return Response(items, headers=headers)


def harbor_answer(response: Response) -> Response:
    """The app's last word on every REST answer, as Harbor gives it: a success without content
    has an empty body (a handler returning None would be sent as `null`), and the HTML page
    Litestar's OpenAPI router answers an unknown `/api/v2.0/...` path with is Harbor's JSON
    404, whatever the client accepts."""
    if response.status_code == 404 and response.media_type == MediaType.HTML:
        return no_such_resource()
    if response.content is None and 200 <= response.status_code < 300:
        response.content = b""
        response.media_type = MediaType.TEXT  # no JSON to parse
    return response
