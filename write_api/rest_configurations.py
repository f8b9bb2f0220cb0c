"""Harbor's `PUT /configurations`: the keys given (a subset of Harbor's Configurations
object) change at once, as one event; nothing is recorded when a key is refused. Also the
system CVE allowlist, kept in the same stream."""

from typing import Any

from litestar import Request, put
from litestar.params import JSONBody

from commands.configuration_handlers import ChangeConfiguration, SetCveAllowlist
from domain.errors import BadRequest
from infra.http.rest import caller


@put("/api/v2.0/configurations", status_code=200)
async def update_configurations(request: Request, data: JSONBody[Any]) -> None:
    who = await caller(request)
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object of configuration keys", {"field": "body"})
    await who.registry.run(who.registry.configuration_commands.change,
                           ChangeConfiguration(data, who.actor))


@put("/api/v2.0/system/CVEAllowlist", status_code=200)
async def update_cve_allowlist(request: Request, data: JSONBody[Any]) -> None:
    """Replace the system CVE allowlist with `items` (and `expires_at`, seconds since the
    epoch or null); the other fields of Harbor's CVEAllowlist are ignored."""
    who = await caller(request)
    if not isinstance(data, dict):
        raise BadRequest("the body must be a CVEAllowlist object", {"field": "body"})
    await who.registry.run(who.registry.configuration_commands.set_cve_allowlist,
                           SetCveAllowlist(data, who.actor))
