"""How far the registry has read one scanner's re-match results (`/api/v1/tidemark/affected`):
one small stream per scanner registration, advanced in the same save as the scan runs a
page of results made, so a restart neither skips nor repeats a page."""

from domain.base import Actor, RegistryAggregate
from domain.names import stream_id


def cursor_id(scanner: str):
    return stream_id("scan-rematch-cursor", scanner)


class RematchCursor(RegistryAggregate):
    class Started(RegistryAggregate.Created):
        """The registry began reading a scanner's re-match results."""

        scanner: str

    class Advanced(RegistryAggregate.Event):
        """A page of re-match results was read and what it showed recorded."""

        sequence: int
        images: int  # artifacts of this registry that got a new report
        findings: int

        def apply(self, cursor: "RematchCursor") -> None:
            cursor.sequence = self.sequence

    def __init__(self, scanner: str) -> None:
        self.scanner = scanner
        self.sequence = 0

    @classmethod
    def start(cls, scanner: str, actor: Actor) -> "RematchCursor":
        return cls._create(cls.Started, id=cursor_id(scanner), scanner=scanner, **actor.fields())

    def advance(self, sequence: int, images: int, findings: int, actor: Actor) -> None:
        if sequence > self.sequence:
            self.trigger_event(self.Advanced, sequence=sequence, images=images, findings=findings,
                               **actor.fields())
