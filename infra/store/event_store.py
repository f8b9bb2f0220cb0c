"""Which event store the registry application uses: SQLite by default, PostgreSQL by URL."""

from urllib.parse import unquote, urlparse

from infra.settings import Settings


def event_store_env(settings: Settings) -> dict[str, str]:
    """The eventsourcing library's environment for the configured store."""
    env = {"AGGREGATE_CACHE_MAXSIZE": "20000"}
    if settings.uses_postgres:
        url = urlparse(settings.database_url)
        env.update(
            PERSISTENCE_MODULE="eventsourcing.postgres",
            POSTGRES_DBNAME=(url.path or "/").lstrip("/") or "postgres",
            POSTGRES_HOST=url.hostname or "127.0.0.1",
            POSTGRES_PORT=str(url.port or 5432),
            POSTGRES_USER=unquote(url.username or "postgres"),
            POSTGRES_PASSWORD=unquote(url.password or ""),
            # Two connections held per process, up to 20 under load: a node's processes (the
            # server, its webhook child, workers) do not take a fixed ten each (ADR 0044).
            POSTGRES_POOL_SIZE="2",
            POSTGRES_MAX_OVERFLOW="18",
        )
    else:
        settings.data_path.mkdir(parents=True, exist_ok=True)
        env.update(
            # One process writes an SQLite store, so its aggregate cache is authoritative:
            # no need to ask the database for newer events on every load.
            AGGREGATE_CACHE_FASTFORWARD="n",
            PERSISTENCE_MODULE="eventsourcing.sqlite",
            SQLITE_DBNAME=str(settings.data_path / "events.sqlite"),
            SQLITE_LOCK_TIMEOUT="30",
        )
    return env
