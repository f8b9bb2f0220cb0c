"""Harbor's system CVE allowlist, `GET /system/CVEAllowlist` (any signed-in caller)."""

import anyio.to_thread
from litestar import Request, get

from infra.http.rest import caller

ZERO_TIME = "0001-01-01T00:00:00.000Z"  # Harbor's answer for times of a list never set


def allowlist_resp(value: dict, times: tuple[str, str] | None) -> dict:
    created, updated = times or (ZERO_TIME, ZERO_TIME)
    return {"id": 1, "project_id": 0, "expires_at": value["expires_at"],
            "items": value["items"],
            "creation_time": created, "update_time": updated}


@get("/api/v2.0/system/CVEAllowlist")
async def get_cve_allowlist(request: Request) -> dict:
    who = await caller(request)
    configuration = who.registry.configuration
    value = await anyio.to_thread.run_sync(configuration.value, "cve_allowlist")
    return allowlist_resp(value, await anyio.to_thread.run_sync(configuration.times, "cve_allowlist"))
