"""The ASGI handler mounted at /v2: dispatch, error mapping, sending answers."""

import anyio.to_thread
import structlog

from domain.errors import NameUnknown, RegistryError, Unauthorized
from infra.http.errors import status_for
from infra.http.oci import (
    API_VERSION, BodyTooLarge, ClientDisconnected, OciRequest, Response, error_body, header,
    json_response,
)
from read_api import oci_read
from write_api import oci_write

log = structlog.get_logger("oci")

READ_METHODS = {"GET", "HEAD"}
FILE_CHUNK = 1024 * 1024


def make_oci_app(registry):
    async def oci(scope, receive, send) -> None:
        request = None
        try:
            request = OciRequest(scope, receive)
            if request.route == "unknown":
                raise NameUnknown("no such OCI route", request.params)
            handler = oci_read.handle if request.method in READ_METHODS else oci_write.handle
            response = await handler(request, registry)
        except RegistryError as error:
            response = _error_response(error, registry)
        except ClientDisconnected:
            return
        except BodyTooLarge:
            response = Response(413, [header("content-length", 0)])
        except Exception:  # details go to the log, never to the client
            log.exception("unhandled error", request_id=scope.get("state", {}).get("request_id"))
            response = json_response(500, {"errors": [{"code": "UNKNOWN", "message": "internal error"}]})
        await send_response(scope, send, response, head=scope["method"] == "HEAD")

    return oci


def _error_response(error: RegistryError, registry) -> Response:
    extra = []
    if isinstance(error, Unauthorized):
        extra.append(header("www-authenticate", getattr(error, "challenge", "")
                            or f'Bearer realm="{registry.external_url}/service/token",service="tidemark"'))
    if error.retry_after is not None:
        extra.append(header("retry-after", error.retry_after))
    return json_response(status_for(error), error_body(error), extra)


async def send_response(scope, send, response: Response, head: bool = False) -> None:
    headers = [API_VERSION, *response.headers]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if head:
        await send({"type": "http.response.body", "body": b""})
        return
    if response.path is not None:
        if "http.response.pathsend" in scope.get("extensions", {}):
            await send({"type": "http.response.pathsend", "path": response.path})
            return
        await _send_file(send, response.path)
        return
    if response.chunks is not None:
        await _send_chunks(send, response.chunks)
        return
    await send({"type": "http.response.body", "body": response.body})


async def _send_file(send, path: str) -> None:
    with open(path, "rb") as handle:
        while True:
            chunk = await anyio.to_thread.run_sync(handle.read, FILE_CHUNK)
            more = len(chunk) == FILE_CHUNK
            await send({"type": "http.response.body", "body": chunk, "more_body": more})
            if not more:
                return


async def _send_chunks(send, chunks) -> None:
    if hasattr(chunks, "__aiter__"):  # follows its source on the event loop (a proxy fetch)
        try:
            async for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        await send({"type": "http.response.body", "body": b""})
        return
    sentinel = object()
    while True:
        chunk = await anyio.to_thread.run_sync(next, chunks, sentinel)
        if chunk is sentinel:
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
