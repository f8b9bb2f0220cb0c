"""The built-in scanner beside `tidemark serve` (`builtin_scanner: auto`, the default on the
embedded default): `tidemark scanner serve` as a supervised child on a loopback port, and its
registration as the scanner named "Tidemark".

Its API token is generated once, kept in the data directory (mode 0600), handed to the child
as a file (TIDEMARK_SCANNER_API_TOKEN_FILE), and sealed into the registration as its Bearer
credential. The registration is made idempotently at each start: the first start registers
it (the default, if no other is), later starts update its address and token when they
changed; the default is never taken from a registration an administrator chose.
"""

import os
import secrets
import socket
import sys

import structlog

from commands.scanning.registrations import ChangeScanner, RegisterScanner
from domain.base import SYSTEM
from domain.scanning.registration import ScannerSpec
from infra.wiring.child_process import SupervisedChild

log = structlog.get_logger("scanning")
NAME = "Tidemark"
TOKEN_FILE = "scanner-api-token"
URL_VARIABLE = "TIDEMARK_BUILTIN_SCANNER_URL"  # set by `serve` for its server: where the child listens


def token_path(settings):
    return settings.data_path / TOKEN_FILE


def scanner_token(settings) -> str:
    """The built-in scanner's API token, made on first use (0600)."""
    path = token_path(settings)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def builtin_scanner_process(settings, config_file: str | None) -> SupervisedChild | None:
    """The child to start beside the server, or None (turned off, or not `--role all`)."""
    if settings.role != "all" or settings.builtin_scanner != "auto":
        return None
    scanner_token(settings)
    port = int(os.environ.get("TIDEMARK_SCANNER_PORT") or _free_port("127.0.0.1"))
    command = [sys.executable, "-m", "infra.wiring.cli"]
    if config_file:
        command += ["--config", config_file]
    command += ["scanner", "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir",
                str(settings.data_path)]
    os.environ[URL_VARIABLE] = f"http://127.0.0.1:{port}"  # the server (this process) registers it
    return SupervisedChild("scanner", command, {"TIDEMARK_SCANNER_API_TOKEN_FILE": str(token_path(settings))})


def register_builtin_scanner(registry) -> None:
    """Register (or bring up to date) the built-in scanner, when this server started one."""
    url = os.environ.get(URL_VARIABLE)
    if not url:
        return
    token = scanner_token(registry.settings)
    spec = ScannerSpec(name=NAME, url=url, description="The built-in scanner (tidemark scanner serve): "
                       "OS and language packages against the imported OSV database", auth="Bearer",
                       access_credential=token)
    current = registry.scanners.current()
    uuid = current.by_name(NAME)
    if uuid is None:
        registry.scanners.register(RegisterScanner(spec, SYSTEM))
        log.info("registered the built-in scanner", url=url)
        return
    item = current.items[uuid]
    if (item["url"], item.get("auth"), registry.scanners.credential(item)) != (url, "Bearer", token):
        registry.scanners.change(ChangeScanner(uuid, msgspec_replace(spec, item), SYSTEM))


def msgspec_replace(spec: ScannerSpec, item: dict) -> ScannerSpec:
    """The spec keeping what an administrator may have set (description, disabled)."""
    import msgspec

    return msgspec.structs.replace(spec, description=item.get("description", spec.description),
                                   disabled=item.get("disabled", False))
