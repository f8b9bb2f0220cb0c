"""The base aggregate: every event says who did it, from where, in which request."""

from eventsourcing.domain import Aggregate

import msgspec


class Actor(msgspec.Struct, frozen=True):
    """Who asked for a change: a user or robot name, their address, the request id."""

    name: str = "anonymous"
    client_ip: str = ""
    request_id: str = ""

    def fields(self) -> dict[str, str]:
        return {"actor": self.name, "client_ip": self.client_ip, "request_id": self.request_id}


SYSTEM = Actor(name="system")


class RegistryAggregate(Aggregate):
    """Base of Tidemark's aggregates."""

    class Event(Aggregate.Event):
        actor: str
        client_ip: str
        request_id: str

    class Created(Event, Aggregate.Created):
        pass
