"""Changing the system configuration: one event for every PUT that changes something.

Secret keys are sealed here, before the event is made (infra/auth/secrets.py); a secret sent
again with the value it has is no change. A refused PUT records nothing.
"""

from typing import Any

import msgspec

from commands.artifacts.messages import Outcome
from commands.retries import retried
from domain.base import Actor
from infra.auth.secrets import key_id_of
from domain.configuration import CONFIGURATION_ID, SystemConfiguration
from domain.configuration_keys import SECRETS, SYSTEM_KEYS, check_value, check_values

SECRET_PURPOSE = "system configuration {key}"  # sealed values are bound to their key


class ChangeConfiguration(msgspec.Struct, frozen=True):
    values: dict[str, Any]
    actor: Actor


class SetCveAllowlist(msgspec.Struct, frozen=True):
    """Replace the system CVE allowlist (Harbor's CVEAllowlist body: items, expires_at)."""

    allowlist: dict[str, Any]
    actor: Actor


class ResealConfigurationSecrets(msgspec.Struct, frozen=True):
    """Seal the configuration's secrets with the newest key (key rotation, ADR 0014)."""

    actor: Actor


class ConfigurationCommands:
    def __init__(self, app, secrets) -> None:
        self.app = app
        self.secrets = secrets

    def _sealed(self, checked: dict[str, Any], current: SystemConfiguration | None) -> dict[str, Any]:
        values = dict(checked)
        for key in SECRETS & set(values):
            stored = current.value(key) if current is not None else ""
            if values[key] == (self.secrets.open(stored, SECRET_PURPOSE.format(key=key)) if stored else ""):
                del values[key]  # the same secret again: no change
            elif values[key]:
                values[key] = self.secrets.seal(values[key], SECRET_PURPOSE.format(key=key))
        return values

    @retried
    def change(self, c: ChangeConfiguration) -> Outcome:
        """Record the keys whose values change; nothing (and no position) when none does."""
        checked = check_values(c.values)  # every key and value, before anything is sealed
        return self._record(checked, c.actor)

    @retried
    def set_cve_allowlist(self, c: SetCveAllowlist) -> Outcome:
        return self._record({"cve_allowlist": check_value("cve_allowlist", c.allowlist, SYSTEM_KEYS)},
                            c.actor)

    @retried
    def reseal(self, c: ResealConfigurationSecrets) -> Outcome:
        """One event resealing every secret not sealed with the newest key; nothing if none."""
        configuration = self.app.find(CONFIGURATION_ID, SystemConfiguration)
        if configuration is None:
            return Outcome()
        newest = self.secrets.keyring().current
        values = {}
        for key in sorted(SECRETS):
            stored, purpose = configuration.value(key), SECRET_PURPOSE.format(key=key)
            if stored and key_id_of(stored) != newest:
                values[key] = self.secrets.seal(self.secrets.open(stored, purpose), purpose)
        if not values or not configuration.change(values, c.actor):
            return Outcome()
        recordings = self.app.save(configuration)
        return Outcome(position=recordings[-1].notification.id if recordings else None)

    def _record(self, checked: dict[str, Any], actor: Actor) -> Outcome:
        configuration = self.app.find(CONFIGURATION_ID, SystemConfiguration)
        values = self._sealed(checked, configuration)
        if configuration is None:
            configuration = SystemConfiguration.configure(values, actor)
            if configuration is None:
                return Outcome()
        elif not configuration.change(values, actor):
            return Outcome()
        recordings = self.app.save(configuration)
        return Outcome(position=recordings[-1].notification.id if recordings else None)
