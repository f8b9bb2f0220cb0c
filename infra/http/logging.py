"""Structured logs (structlog): JSON lines or console, one line per request."""

import logging
import re
import sys
import time
import uuid

import structlog
from urllib.parse import unquote

_ENCODED_SLASH = re.compile(r"%(?:25)?2[fF]")


def configure_logging(fmt: str = "json", level: str = "info") -> None:
    renderer = (structlog.processors.JSONRenderer() if fmt == "json"
                else structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper(), 20)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )


access_log = structlog.get_logger("access")


class RequestLogMiddleware:
    """Gives each request an id (X-Request-Id, echoed back) and logs one line when it ends.

    Logs the path only, never the query string or headers, so no credential
    or token that a client puts there reaches a log.
    """

    observers: list = []  # callables (method, status, seconds), e.g. the metrics

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")[:64]
        request_id = request_id or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        path = scope.get("path", "")[:300]
        raw = (scope.get("raw_path") or b"").decode("latin-1").split("?", 1)[0]
        if raw.startswith("/api/v2.0/projects/") and _ENCODED_SLASH.search(raw):
            # Harbor clients encode `/` in repository names twice (`a%252Fb`); keep the name in
            # one path segment for routing, with `+`, a character names never contain.
            scope["path"] = unquote(_ENCODED_SLASH.sub("+", raw))
        started = time.perf_counter()
        status = 500
        sent_bytes = 0

        async def send_wrapper(message) -> None:
            nonlocal status, sent_bytes
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode("latin-1"))]
            elif message["type"] == "http.response.body":
                sent_bytes += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            for observe in self.observers:
                observe(scope["method"], status, elapsed)
            access_log.info("request", request_id=request_id, method=scope["method"],
                            path=path, status=status, bytes=sent_bytes,
                            ms=round(elapsed * 1000, 2), client=(scope.get("client") or ("",))[0])
