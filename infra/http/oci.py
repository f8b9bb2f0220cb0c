"""Plain ASGI plumbing for the OCI routes: request parsing, path matching, responses.

The OCI surface is mounted as one ASGI handler under /v2 so names with slashes
route as the distribution spec's regular expressions say, and so the hot path
(manifest and blob GET) pays for nothing it does not use.
"""

import re
from typing import Any, AsyncIterator
from urllib.parse import parse_qs, unquote

import msgspec

from domain.errors import NameInvalid, RegistryError

API_VERSION = (b"docker-distribution-api-version", b"registry/2.0")

ROUTES = [
    ("catalog", re.compile(r"_catalog")),
    ("tags", re.compile(r"(?P<name>.+)/tags/list")),
    ("manifest", re.compile(r"(?P<name>.+)/manifests/(?P<reference>[^/]+)")),
    ("uploads", re.compile(r"(?P<name>.+)/blobs/uploads/?")),
    ("upload", re.compile(r"(?P<name>.+)/blobs/uploads/(?P<upload>[^/]+)")),
    ("blob", re.compile(r"(?P<name>.+)/blobs/(?P<digest>[^/]+)")),
    ("referrers", re.compile(r"(?P<name>.+)/referrers/(?P<digest>[^/]+)")),
]


class OciRequest:
    """What an OCI handler needs from the ASGI scope."""

    __slots__ = ("scope", "receive", "method", "route", "params", "query", "headers", "state")

    def __init__(self, scope: dict, receive: Any) -> None:
        self.scope = scope
        self.receive = receive
        self.method: str = scope["method"]
        self.headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self.query = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1"),
                                                  keep_blank_values=True).items()}
        self.state: dict = scope.setdefault("state", {})
        self.route, self.params = match_route(_path_after_v2(scope))

    @property
    def request_id(self) -> str:
        return self.state.get("request_id", "")

    @property
    def client_ip(self) -> str:
        client = self.scope.get("client")
        return client[0] if client else ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    async def stream(self) -> AsyncIterator[bytes]:
        """The request body as it arrives; raises ClientDisconnected if the client leaves."""
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected()
            body = message.get("body", b"")
            if body:
                yield body
            if not message.get("more_body", False):
                return

    async def body(self, limit: int) -> bytes:
        parts: list[bytes] = []
        size = 0
        async for chunk in self.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge()
            parts.append(chunk)
        return b"".join(parts)


class ClientDisconnected(Exception):
    """The client went away before its request body was complete."""


class BodyTooLarge(Exception):
    """A request body passed its limit."""


def _path_after_v2(scope: dict) -> str:
    raw = scope.get("raw_path")
    path = raw.decode("latin-1").split("?", 1)[0] if raw else "/v2" + scope["path"]
    rest = path[3:] if path.startswith("/v2") else path
    return rest.lstrip("/")


def match_route(path: str) -> tuple[str, dict[str, str]]:
    if path in ("", "/"):
        return "base", {}
    if "%" in path:
        path = unquote(path)
    if "/../" in f"/{path}/" or "/./" in f"/{path}/" or "\x00" in path:
        raise NameInvalid("invalid repository name: path segments . and .. are not allowed")
    for name, pattern in ROUTES:
        match = pattern.fullmatch(path)
        if match:
            params = match.groupdict()
            if "%" in params.get("name", "") or ".." in params.get("name", ""):
                raise NameInvalid("invalid repository name")
            return name, params
    return "unknown", {"path": path[:200]}


class Response:
    """An OCI answer: status, headers and either bytes, a file path or a byte iterator."""

    __slots__ = ("status", "headers", "body", "path", "chunks")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]] | None = None,
                 body: bytes = b"", path: str | None = None, chunks: Any = None) -> None:
        self.status = status
        self.headers = headers or []
        self.body = body
        self.path = path
        self.chunks = chunks


def header(name: str, value: object) -> tuple[bytes, bytes]:
    return name.lower().encode("latin-1"), str(value).encode("latin-1")


_json = msgspec.json.Encoder()


def json_response(status: int, payload: Any, extra: list | None = None,
                  content_type: str = "application/json") -> Response:
    body = _json.encode(payload)
    return Response(status, [header("content-type", content_type),
                             header("content-length", len(body)), *(extra or [])], body)


def error_body(error: RegistryError) -> dict:
    entry: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.detail is not None:
        entry["detail"] = error.detail
    return {"errors": [entry]}


def paginate_link(base_path: str, n: int, last: str) -> tuple[bytes, bytes]:
    from urllib.parse import quote

    return header("link", f'<{base_path}?n={n}&last={quote(last)}>; rel="next"')
