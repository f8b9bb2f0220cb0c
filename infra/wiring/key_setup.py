"""Which process loads which key, and the preparation `tidemark serve` makes before it starts
its processes (ADR 0014)."""

from infra.store.data_dir import prepare_data_dir
from infra.auth.secrets import Secrets
from infra.settings import Settings
from infra.store.setup_lock import setup_lock
from infra.store.sql import open_database
from infra.auth.tokens import SigningKeyFile


def load_keys(registry, role: str) -> None:
    """Load (or on first start make) the keys `role` uses: the token signing key where HTTP
    is answered, the secrets keys where secrets are sealed or opened. StartupRefused when
    a key file is exposed, or missing while the registry has used it."""
    if role in ("all", "write", "read"):
        registry.tokens.load()
    if role in ("all", "write", "workers", "webhooks"):
        registry.secrets.load()


def private_data_dir(settings: Settings) -> None:
    """The data directory made (or made again) private; the key files are checked, not changed."""
    prepare_data_dir(settings.data_path, keep=(settings.token_key_path, settings.secrets_key_path))


def prepare_to_serve(settings: Settings) -> None:
    """Before `tidemark serve` starts its processes: the data directory made private and the
    keys of its role loaded or made once, here, so the processes it starts read one key
    instead of racing to make two; StartupRefused (one line, exit 2) before anything runs."""
    private_data_dir(settings)
    with setup_lock(settings):  # nodes starting at once: one makes the keys, the others read them
        _prepare_keys(settings)


def _prepare_keys(settings: Settings) -> None:
    db = open_database(settings)
    try:
        role = settings.role
        if role in ("all", "write", "read"):
            SigningKeyFile(settings.token_key_path, db, settings.uses_postgres).load()
        if role in ("all", "write", "workers", "webhooks"):
            Secrets(settings.secrets_key_path, db, creates=role in ("all", "write")).load()
    finally:
        db.close()
