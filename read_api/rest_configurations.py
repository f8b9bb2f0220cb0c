"""Harbor's `GET /configurations`: every key as `{"value": ..., "editable": ...}`, secrets
left out (they are write-only); `at=` (a time or a log position) shows the configuration
as it was then (Tidemark addition)."""

import anyio.to_thread
from litestar import Request, get
from litestar.params import FromQuery

from domain.configuration_keys import KEYS, SECRETS
from infra.http.rest import caller


def configurations_resp(values: dict) -> dict:
    body = {key: {"value": value, "editable": True} for key, value in values.items()
            if key in KEYS and key not in SECRETS and key != "scan_all_policy"}
    body["scan_all_policy"] = values["scan_all_policy"]  # the one key Harbor's schema gives unwrapped
    return body


@get("/api/v2.0/configurations")
async def get_configurations(request: Request, at: FromQuery[str | None] = None) -> dict:
    who = await caller(request)
    registry = who.registry
    position = await anyio.to_thread.run_sync(registry.history.resolve_at, at)
    return configurations_resp(await anyio.to_thread.run_sync(registry.configuration.values, position))
