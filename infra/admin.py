"""The built-in `admin` system administrator, made on first start."""

import os
import secrets

import structlog

from commands.iam_messages import CreateUser
from domain.base import SYSTEM
from domain.errors import Conflict

log = structlog.get_logger("admin")

ADMIN = "admin"


def _generated_password(path) -> str:
    if path.exists():
        return path.read_text().strip()
    password = "Tm" + secrets.token_urlsafe(18) + "7a"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    return password


def ensure_admin(registry) -> None:
    """Create `admin` if it does not exist: TIDEMARK_ADMIN_PASSWORD, or a generated
    password written once to `<data dir>/admin_password` (mode 0600)."""
    if registry.iam_queries.user(ADMIN) is not None:
        return
    settings = registry.settings
    path = settings.data_path / "admin_password"
    password = settings.admin_password or _generated_password(path)
    try:
        registry.iam.create_user(CreateUser(ADMIN, "", "system admin", "built-in administrator",
                                            password, True, SYSTEM))
    except Conflict:
        return
    if not settings.admin_password:
        print(f"tidemark: created user admin with password {password} (kept in {path})", flush=True)
    log.info("created the admin user")
