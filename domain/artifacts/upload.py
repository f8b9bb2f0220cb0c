"""An upload session that was given up before it completed."""

from domain.base import Actor, RegistryAggregate
from domain.names import stream_id


class Upload(RegistryAggregate):
    class Abandoned(RegistryAggregate.Created):
        """An upload session was cancelled (or expired); its partial bytes were discarded."""

        repository: str
        upload_id: str
        received_bytes: int
        reason: str

    def __init__(self, repository: str, upload_id: str, received_bytes: int, reason: str) -> None:
        self.repository = repository

    @classmethod
    def abandon(cls, repository: str, upload_id: str, received_bytes: int, reason: str,
                actor: Actor) -> "Upload":
        return cls._create(
            cls.Abandoned, id=stream_id("upload", upload_id), repository=repository,
            upload_id=upload_id, received_bytes=received_bytes, reason=reason, **actor.fields(),
        )
