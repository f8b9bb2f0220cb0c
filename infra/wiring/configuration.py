"""Wiring the system configuration into a registry: its commands, its view (read by the
API processes' request paths at once) and the keys other parts act on."""

from commands.configuration_handlers import ConfigurationCommands
from projections.cache import ViewCache
from projections.configuration_view import ConfigurationQueries, ConfigurationView
from projections.projector import Projector


def attach_configuration(registry) -> None:
    """After identity (the secrets keyring and the token service)."""
    queries = ConfigurationQueries(registry.db, cache=ViewCache(enabled=registry.local_only))
    registry.configuration = queries
    registry.configuration_commands = ConfigurationCommands(registry.app, registry.secrets)
    registry.projectors.append(Projector(registry.app, registry.db, ConfigurationView(),
                                         on_stale=queries.cache.invalidate))

    def token_lifetime() -> int | None:
        minutes = queries.explicit("token_expiration")  # TIDEMARK_TOKEN_LIFETIME_SECONDS until set
        return None if minutes is None else minutes * 60

    registry.tokens.configured_lifetime = token_lifetime
