"""Pulls, recorded in batches so a pull never waits for the event store."""

from uuid import uuid4

from domain.base import Actor, RegistryAggregate


class PullBatch(RegistryAggregate):
    class Recorded(RegistryAggregate.Created):
        """Manifests were pulled: one entry per pull (repository, digest, tag, who, from where, when)."""

        pulls: list[dict]

    def __init__(self, pulls: list[dict]) -> None:
        self.count = len(pulls)

    @classmethod
    def record(cls, pulls: list[dict], actor: Actor) -> "PullBatch":
        return cls._create(cls.Recorded, id=uuid4(), pulls=pulls, **actor.fields())
