"""Key rotation for sealed secrets: which keys current secrets use, resealing them with the
newest key as new events, retiring a key nothing uses any more (docs/adr/0014).

Current secrets are read from the query models that hold them (webhook policies and
the system configuration today); each holder that joins later (replication registries, OIDC settings) adds
its own lines to `current_secrets` and a reseal command.
"""

from collections import Counter
from typing import Any

import structlog

from commands.configuration_handlers import ResealConfigurationSecrets
from commands.webhooks.handlers import ResealPolicy
from domain.configuration_keys import SECRETS
from domain.base import SYSTEM, Actor
from infra.auth.key_files import StartupRefused, forget_id
from infra.auth.secrets import PURPOSE, key_id_of

log = structlog.get_logger("secrets")
CONFIGURATION = "configuration:"  # holder keys of the system configuration's secrets


class RotationRefused(StartupRefused):
    """A rotation step that would leave secrets nobody can open."""


def current_secrets(registry: Any) -> list[tuple[str, str]]:
    """(holder key, stored value) of every secret current query models hold."""
    configured = [(CONFIGURATION + key, value) for key, value in registry.configuration.values().items()
                  if key in SECRETS and value]
    return [(key, header) for key, headers in registry.webhook_queries.auth_headers()
            for header in headers] + configured


def usage(registry: Any) -> Counter:
    """How many current secrets each key id seals (None: clear values of older versions)."""
    return Counter(key_id_of(value) for _, value in current_secrets(registry))


def reseal(registry: Any, actor: Actor, only_clear: bool = False) -> int:
    """Seal every current secret not sealed with the newest key (with `only_clear`: only
    clear ones) as new events; how many holders changed."""
    current = registry.secrets.keyring().current
    holders = {key for key, value in current_secrets(registry)
               if key_id_of(value) is None or (not only_clear and key_id_of(value) != current)}
    changed = 0
    if any(key.startswith(CONFIGURATION) for key in holders):
        outcome = registry.configuration_commands.reseal(ResealConfigurationSecrets(actor))
        changed += outcome.position is not None
        registry.catch_up_reads()
    for key in sorted(k for k in holders if not k.startswith(CONFIGURATION)):
        outcome = registry.webhooks.reseal_policy(ResealPolicy(key, actor, only_clear))
        changed += outcome.position is not None
    if changed:
        registry.webhook_policy_projector.catch_up()
    return changed


def seal_clear_secrets(registry: Any) -> None:
    """At start: secrets an older version stored in clear are sealed as new events, so the
    query models hold none in clear (the old events keep theirs; exports redact them)."""
    if usage(registry).get(None):
        changed = reseal(registry, SYSTEM, only_clear=True)
        log.warning("sealed webhook auth headers stored in clear by an older version",
                    policies=changed)


def retire(registry: Any, kid: str) -> None:
    """Remove a key from the key file, once no current secret is sealed with it."""
    keyring = registry.secrets.keyring()
    if kid not in keyring.keys:
        raise RotationRefused(f"no key {kid} in {registry.secrets.path}")
    if kid == keyring.current:
        raise RotationRefused(f"key {kid} seals new secrets: add a key first "
                              "(`tidemark keys add-secrets-key`), restart, reseal")
    still = usage(registry).get(kid, 0)
    if still:
        raise RotationRefused(f"{still} current secrets are sealed with key {kid}: run "
                              "`tidemark keys reseal` first")
    registry.secrets.remove_key(kid)
    forget_id(registry.db, PURPOSE, kid)
