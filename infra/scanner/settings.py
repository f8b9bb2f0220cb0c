"""Settings of `tidemark scanner serve` and `tidemark vulndb`: `TIDEMARK_SCANNER_*` variables,
then CLI flags. Without a data directory of its own the scanner keeps its files under the
registry's (`<data-dir>/scanner/`), so `tidemark serve` and its scanner share one folder."""

import difflib
import os
from pathlib import Path
from typing import Annotated, Literal

import msgspec

PREFIX = "TIDEMARK_SCANNER_"
GIB = 1024 ** 3


class ScannerSettings(msgspec.Struct, kw_only=True):
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 5001
    data_dir: str = ""  # empty: the registry's data directory (TIDEMARK_DATA_DIR, --data-dir)
    # Callers must send `Authorization: Bearer <token>` (or Basic with `user:password` =
    # token, or `X-ScannerAdapter-API-Key`) when set; empty: the API is open (loopback use).
    api_token: str = ""
    api_token_file: str = ""  # the token read from a file (a mounted secret)
    scratch_dir: str = ""  # where scans download layers; empty: <data>/scanner/scratch
    concurrent_scans: Annotated[int, msgspec.Meta(ge=1, le=64)] = 2
    queued_scans: Annotated[int, msgspec.Meta(ge=1)] = 1000  # more waiting: 503 until some finish
    refresh_after_seconds: Annotated[int, msgspec.Meta(ge=1)] = 3
    report_ttl_seconds: Annotated[int, msgspec.Meta(ge=1)] = 3600  # finished reports are kept this long
    scan_timeout_seconds: Annotated[float, msgspec.Meta(gt=0)] = 1800.0
    registry_timeout_seconds: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    registry_tls_verify: bool = True
    # Hostile images: a scan gives up past these, with the reason.
    max_download_bytes: Annotated[int, msgspec.Meta(ge=1)] = 8 * GIB  # compressed layers, all told
    max_uncompressed_bytes: Annotated[int, msgspec.Meta(ge=1)] = 32 * GIB  # what they expand to
    max_member_bytes: Annotated[int, msgspec.Meta(ge=1)] = 64 * 1024 ** 2  # one metadata file
    max_members: Annotated[int, msgspec.Meta(ge=1)] = 2_000_000  # tar members, all layers
    max_wanted_bytes: Annotated[int, msgspec.Meta(ge=1)] = 512 * 1024 ** 2  # metadata kept in memory
    inventory: Literal["builtin", "syft"] = "builtin"
    syft_path: str = ""  # empty: `syft` beside this Python, then on PATH

    @property
    def root(self) -> Path:
        return Path(self.data_dir or "./data").resolve() / "scanner"

    @property
    def database_path(self) -> Path:
        return self.root / "vulndb.sqlite"

    @property
    def inventories_path(self) -> Path:
        return self.root / "inventories.sqlite"

    @property
    def scratch_path(self) -> Path:
        return Path(self.scratch_dir).resolve() if self.scratch_dir else self.root / "scratch"

    @property
    def token(self) -> str:
        if self.api_token_file:
            return Path(self.api_token_file).read_text().strip()
        return self.api_token


class ScannerSettingsError(ValueError):
    """A scanner setting Tidemark cannot use (the message names it)."""


def setting_names() -> list[str]:
    return [field.name for field in msgspec.structs.fields(ScannerSettings)]


def unknown_scanner_environment(environ=os.environ) -> list[tuple[str, str | None]]:
    known = {PREFIX + name.upper() for name in setting_names()}
    found = []
    for name in sorted(environ):
        if name.startswith(PREFIX) and name not in known:
            guess = difflib.get_close_matches(name[len(PREFIX):].lower(), setting_names(), n=1, cutoff=0.75)
            found.append((name, PREFIX + guess[0].upper() if guess else None))
    return found


def load_scanner_settings(registry_data_dir: str | None = None, environ=os.environ,
                          **overrides: object) -> ScannerSettings:
    """The environment, then flags; the data directory falls back to the registry's."""
    values: dict[str, object] = {}
    for name in setting_names():
        if PREFIX + name.upper() in environ:
            values[name] = environ[PREFIX + name.upper()]
    values.update({k: v for k, v in overrides.items() if v is not None})
    if not values.get("data_dir"):
        values["data_dir"] = registry_data_dir or environ.get("TIDEMARK_DATA_DIR") or "./data"
    try:
        settings = msgspec.convert(values, ScannerSettings, strict=False)
    except msgspec.ValidationError as error:
        message, _, where = str(error).rpartition(" - at `$.")
        name = where.rstrip("`")
        raise ScannerSettingsError(f"invalid setting {PREFIX}{name.upper()}: {message}" if name
                                   else f"invalid scanner setting: {error}") from None
    if settings.api_token_file:
        try:
            settings.token
        except OSError as error:
            raise ScannerSettingsError(f"cannot read {PREFIX}API_TOKEN_FILE {settings.api_token_file}: "
                                       f"{error.strerror}") from None
    return settings
