"""Failed sign-ins, recorded in batches so that guessing cannot flood the log.

An entry per refused password (the name tried, never the password), and per
source one count of the attempts refused unchecked while it had to wait.
"""

from uuid import uuid4

from domain.base import Actor, RegistryAggregate

MAX_NAME = 128  # an attempted name is cut here: an auditor wants it, an attacker may send megabytes
DOORS = ("token", "rest", "oci")  # the token service, Basic on /api/v2.0, Basic on /v2/


def attempted_name(name: str) -> str:
    """The attempted name as an event keeps it: at most MAX_NAME characters, cut ones marked."""
    return name if len(name) <= MAX_NAME else name[:MAX_NAME - 1] + "\u2026"


def readable(name: str) -> str:
    """A name safe to show in a log line or a table: control, format (bidi) and other
    invisible characters (and the backslash itself) as \\uXXXX escapes, so a name cannot
    forge log lines, reorder the text around it or pass for another."""
    return "".join(c if c.isprintable() and c != "\\" else f"\\u{ord(c):04x}" for c in name)


class SignInFailures(RegistryAggregate):
    class Recorded(RegistryAggregate.Created):
        """Sign-ins failed. `failures`: one per wrong name or password checked (name, known,
        door, client_ip, request_id, at, and a `reason` for a refused workload ID token, ADR
        0045); `refused`: per source, attempts turned away
        unchecked while it had to wait (client_ip, names, door, count, first_at, last_at,
        request_id); `dropped`: failures not itemized because too many came at once."""

        failures: list[dict]
        refused: list[dict]
        dropped: int

    def __init__(self, failures: list[dict], refused: list[dict], dropped: int) -> None:
        self.count = len(failures) + sum(r["count"] for r in refused) + dropped

    @classmethod
    def record(cls, failures: list[dict], refused: list[dict], dropped: int,
               actor: Actor) -> "SignInFailures":
        for entry in failures:
            entry["name"] = attempted_name(entry["name"])
        for entry in refused:
            entry["names"] = [attempted_name(n) for n in entry["names"]]
        return cls._create(cls.Recorded, id=uuid4(), failures=failures, refused=refused,
                           dropped=dropped, **actor.fields())
