"""Harbor's read-only mode (the `read_only` configuration key): while it is on, every request
that would change something, on `/v2` and on the REST API, is refused with Harbor's answer
(403, `DENIED`, "The system is in read only mode. Any modification is prohibited.");
reads still work, and so does the configuration PUT that turns the mode off.

The check reads the configuration view on each such request (from a cache the projector
keeps fresh on the embedded default; from the shared table on PostgreSQL), so a change made
through any process holds in every process from its next request.
"""

from typing import Callable

import anyio.to_thread

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALWAYS_ALLOWED = frozenset({("PUT", "/api/v2.0/configurations")})
MESSAGE = "The system is in read only mode. Any modification is prohibited."
BODY = ('{"errors":[{"code":"DENIED","message":"' + MESSAGE + '"}]}').encode()


def refuses(method: str, path: str) -> bool:
    """Whether read-only mode refuses this request (before asking whether it is on): every
    change, whatever the path (so no spelling of a path slips past), but the one that can
    turn the mode off."""
    return method not in SAFE_METHODS and (method, path.rstrip("/")) not in ALWAYS_ALLOWED


class ReadOnlyMode:
    def __init__(self, app, is_on: Callable[[], bool]) -> None:
        self.app = app
        self.is_on = is_on

    async def __call__(self, scope, receive, send) -> None:
        if (scope["type"] == "http" and refuses(scope["method"], scope["path"])
                and await anyio.to_thread.run_sync(self.is_on)):
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(BODY)).encode())]})
            await send({"type": "http.response.body", "body": BODY})
            return
        await self.app(scope, receive, send)
