"""Harbor's `PUT /configurations`: the keys given (a subset of Harbor's Configurations
object) change at once, as one event; nothing is recorded when a key is refused."""

from typing import Any

from litestar import Request, put
from litestar.params import JSONBody

from commands.configuration_handlers import ChangeConfiguration
from domain.errors import BadRequest
from infra.http.rest import caller


@put("/api/v2.0/configurations", status_code=200)
async def update_configurations(request: Request, data: JSONBody[Any]) -> None:
    who = await caller(request)
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object of configuration keys", {"field": "body"})
    await who.registry.run(who.registry.configuration_commands.change,
                           ChangeConfiguration(data, who.actor))
