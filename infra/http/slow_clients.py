"""Request bodies that stall or trickle are cut off with 408.

granian bounds the time a client may take to send its headers
(`header_timeout_seconds`, infra/wiring/serve.py) but waits for a body as long as the
client keeps the connection open, so a client that stops in the middle of a
blob PATCH (or sends a byte a minute) holds a connection and a request forever.
Here every body must bring `min_bytes`, or its end, within each window of
`timeout` seconds of waiting. Only the time spent waiting for the client
counts, never the time the app spends storing what arrived, so a slow but
steady upload (at least `min_bytes` per `timeout`) completes however long it
takes. Once the body is complete, `receive` is left alone (streaming answers
wait on it for the disconnect).

A timed-out request is abandoned exactly as a client that disconnected: the
app stops at the `receive` that timed out (an exception no handler catches),
what an upload session had already stored stays (the upload can resume), and
the client gets 408 in its protocol's error form, with `Connection: close`.
"""

import time

import anyio
import msgspec
import structlog

log = structlog.get_logger("http")


class BodyTimedOut(BaseException):
    """Raised from `receive` into the app: a BaseException, so that no `except Exception`
    of a handler turns it into an answer of its own; this middleware answers instead."""


def _timeout_answer(path: str, timeout: float) -> tuple[list, bytes]:
    message = (f"the request body stopped arriving (too little data within {timeout:g} s); "
               "send it again")
    body = msgspec.json.encode({"errors": [{"code": "REQUEST_TIMEOUT", "message": message}]})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]
    if path.startswith("/v2"):
        headers.append((b"docker-distribution-api-version", b"registry/2.0"))
    return headers, body


def _timed_out(error: BaseException) -> bool:
    if isinstance(error, BaseExceptionGroup):  # raised inside a task group of the app
        return error.subgroup(BodyTimedOut) is not None
    return isinstance(error, BodyTimedOut)


class BodyTimeoutMiddleware:
    def __init__(self, app, timeout: float, min_bytes: int) -> None:
        self.app = app
        self.timeout = timeout
        self.min_bytes = max(1, min_bytes)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or self.timeout <= 0:
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")  # before routing rewrites it (the /v2 mount strips /v2)
        waited = 0.0  # seconds spent waiting for the client in this window
        arrived = 0  # bytes that came in this window
        complete = False
        answered = False

        async def timed_receive():
            nonlocal waited, arrived, complete
            if complete:
                return await receive()
            started = time.monotonic()
            with anyio.move_on_after(max(self.timeout - waited, 0.0)):
                message = await receive()
                waited += time.monotonic() - started
                arrived += len(message.get("body", b""))
                if message["type"] != "http.request" or not message.get("more_body", False):
                    complete = True
                elif arrived >= self.min_bytes:
                    waited, arrived = 0.0, 0  # enough came: a new window starts
                return message
            raise BodyTimedOut()

        async def tracked_send(message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
            await send(message)

        try:
            await self.app(scope, timed_receive, tracked_send)
        except BaseException as error:
            if not _timed_out(error):
                raise
            log.info("request body timed out", method=scope["method"], path=path[:300],
                     request_id=scope.get("state", {}).get("request_id"),
                     client=(scope.get("client") or ("",))[0])
            if answered:  # too late to answer: the connection just ends
                return
            headers, body = _timeout_answer(path, self.timeout)
            await send({"type": "http.response.start", "status": 408, "headers": headers})
            await send({"type": "http.response.body", "body": body})
