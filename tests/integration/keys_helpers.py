"""Helpers for the key and data-directory tests: a registry started and stopped on one data
directory, the `tidemark` command line, and file modes."""

import os
import stat
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from litestar.testing import TestClient

from infra.wiring.app import create_app
from infra.wiring.registry import build_registry
from tests.integration.conftest import ADMIN_PASSWORD, basic
from tests.integration.oci_client import OciClient

REPO_ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def running(settings):
    """(registry, client signed in as admin, OCI client) of a registry started on `settings`."""
    registry = build_registry(settings)
    try:
        with TestClient(create_app(settings, registry), base_url="http://registry.test") as client:
            client.headers["authorization"] = basic("admin", ADMIN_PASSWORD)
            yield registry, client, OciClient(client)
    finally:
        registry.close()


def refusal(settings, role: str = "all") -> str:
    """Why a registry on `settings` refuses to start as `role` (fails if it starts)."""
    from infra.auth.key_files import StartupRefused

    registry = build_registry(settings)
    try:
        registry.start(follow=True, role=role)
    except StartupRefused as error:
        return str(error)
    finally:
        registry.close()
    raise AssertionError("the registry started")


def tidemark(data_dir: Path, *args: str, env: dict | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the command line on a data directory, as an operator would."""
    return subprocess.run(
        [sys.executable, "-m", "infra.wiring.cli", *args],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, "TIDEMARK_DATA_DIR": str(data_dir), "TIDEMARK_LOG_FORMAT": "json",
             "TIDEMARK_ADMIN_PASSWORD": ADMIN_PASSWORD, **(env or {})})


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def exposed(root: Path) -> dict[str, str]:
    """Every entry under `root` (and root itself) that group or others may access."""
    found = {}
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink() and mode(path) & 0o077:
            found[str(path.relative_to(root.parent))] = f"{mode(path):04o}"
    return found


def raw_bytes(root: Path, skip: tuple[Path, ...] = ()) -> bytes:
    """The bytes of every file under `root` but `skip` (what a copy of the directory holds)."""
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*"))
                    if p.is_file() and p not in skip)
