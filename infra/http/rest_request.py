"""The Request class of the management API: JSON bodies are checked before decoding.

Litestar decodes every JSON body through `Request.json()` (its data extractor calls it),
so this is the one place a body nested 1,000 deep (RecursionError, a 500) or an integer
beyond 64 bits (refused by SQLite and PostgreSQL; stored in an event, it would stop every
projection that writes it) is refused with Harbor's 400, by the same check the OCI side
makes on manifests (domain/input_limits.py)."""

from typing import Any

import anyio.to_thread
from litestar import Request
from litestar.types import Empty

from domain.input_limits import check_json

# Bodies above this are checked off the event loop (a few milliseconds per MiB).
THREAD_ABOVE = 256 * 1024


class CheckedRequest(Request):
    async def json(self) -> Any:
        if self._json is Empty and self._connection_state.json is Empty:  # not decoded yet
            body = await self.body()
            if len(body) > THREAD_ABOVE:
                await anyio.to_thread.run_sync(check_json, body)
            else:
                check_json(body)
        return await super().json()
