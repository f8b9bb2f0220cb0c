"""The built-in `admin` system administrator, made on first start."""

import os
import secrets

import structlog

from commands.iam.messages import CreateUser
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


def forget_stale_password(registry) -> None:
    """`<data dir>/admin_password` holds the generated password only while it is admin's
    password: once the admin changed it, the file is deleted. Deleted rather than rewritten:
    whoever changed it knows the new password, and a chosen password should not lie on disk
    in clear; a file that still opened the admin account after a change would be a key left
    under the mat, and one that did not would mislead."""
    path = registry.settings.data_path / "admin_password"
    try:
        kept = path.read_text().strip()
    except FileNotFoundError:
        return
    if not registry.credentials.verify(ADMIN, kept):
        path.unlink(missing_ok=True)
        log.info("removed the generated admin password: admin has another one now", path=str(path))


def ensure_admin(registry) -> None:
    """Create `admin` if it does not exist: TIDEMARK_ADMIN_PASSWORD, or a generated
    password written once to `<data dir>/admin_password` (mode 0600)."""
    if registry.iam_queries.user(ADMIN) is not None:
        forget_stale_password(registry)  # changed while this process was not running
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
