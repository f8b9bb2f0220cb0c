"""The system configuration (Harbor's `/configurations`): one stream for the registry.

Each accepted change is one event naming every key it changed with its old and new
value, so the configuration at any past position, and who changed what, come from the
log. Secret values arrive sealed (the command side seals them) and stay sealed here.
"""

from typing import Any

from domain.base import Actor, RegistryAggregate
from domain.configuration_keys import DEFAULTS, SYSTEM_KEYS, check_values
from domain.names import stream_id

CONFIGURATION_ID = stream_id("configuration", "system")


def changes_between(current: dict[str, Any], wanted: dict[str, Any]) -> list[dict]:
    """[{key, old, new}] for each checked key whose value differs (secrets compared as given:
    the command side drops a secret that equals the stored one before sealing)."""
    return [{"key": key, "old": current.get(key, DEFAULTS[key]), "new": value}
            for key, value in sorted(wanted.items()) if current.get(key, DEFAULTS[key]) != value]


class SystemConfiguration(RegistryAggregate):
    class Configured(RegistryAggregate.Created):
        """The system configuration was changed for the first time."""

        changes: list[dict]

    class Changed(RegistryAggregate.Event):
        """Configuration keys changed: each with its old and new value (secrets sealed)."""

        changes: list[dict]

        def apply(self, configuration: "SystemConfiguration") -> None:
            configuration.take(self.changes)

    def __init__(self, changes: list[dict]) -> None:
        self.values: dict[str, Any] = {}
        self.take(changes)

    def take(self, changes: list[dict]) -> None:
        for change in changes:
            self.values[change["key"]] = change["new"]

    def value(self, key: str) -> Any:
        return self.values.get(key, DEFAULTS[key])

    @classmethod
    def configure(cls, values: dict[str, Any], actor: Actor) -> "SystemConfiguration | None":
        """The first change; None when the values are the defaults already."""
        changes = changes_between({}, check_values(values, SYSTEM_KEYS))
        if not changes:
            return None
        return cls._create(cls.Configured, id=CONFIGURATION_ID, changes=changes, **actor.fields())

    def change(self, values: dict[str, Any], actor: Actor) -> bool:
        """Record the keys that change; False (nothing recorded) when none does."""
        changes = changes_between(self.values, check_values(values, SYSTEM_KEYS))
        if not changes:
            return False
        self.trigger_event(self.Changed, changes=changes, **actor.fields())
        return True
