"""Settings from the environment (and an optional YAML file with the same keys)."""

import difflib
import os
import sys
from pathlib import Path
from typing import Annotated, Literal

import msgspec

PREFIX = "TIDEMARK_"


class Settings(msgspec.Struct, kw_only=True):
    data_dir: str = "./data"
    database_url: str = ""
    storage_url: str = ""
    s3_endpoint_url: str = ""
    kafka_bootstrap_servers: str = ""
    kafka_topic: str = "tidemark.events"
    # Where a relay that never ran starts: the first event, or the log's head when Kafka is
    # turned on for a registry whose history subscribers should not receive.
    kafka_start: Literal["beginning", "head"] = "beginning"
    # Audit entries also go to this syslog receiver (host:port is TCP; udp://host:port), except
    # the event types listed (comma-separated); until /configurations stores them (ADR 0028).
    audit_log_forward_endpoint: str = ""
    audit_log_disabled_event_types: str = ""
    external_url: str = ""
    admin_password: str = ""
    log_format: str = ""
    log_level: str = "info"
    host: str = "127.0.0.1"
    port: int = 5000
    role: str = "all"
    max_manifest_bytes: int = 4 * 1024 * 1024
    upload_ttl_seconds: int = 24 * 3600
    token_lifetime_seconds: int = 1800
    # Key files (mode 0600, refused when others may read them); empty: in the data directory.
    # Scale-out nodes point these at one shared, mounted secret.
    token_key_file: str = ""  # the ES256 key that signs registry tokens (PEM)
    secrets_key_file: str = ""  # AES-GCM keys that seal secrets carried by events
    gc_grace_seconds: int = 3600
    gc_history_window_seconds: int = 7 * 24 * 3600
    webhook_allow_link_local: bool = False  # targets on 169.254.0.0/16 and fe80::/10 (cloud metadata)
    webhook_max_attempts: int = 5  # attempts per delivery, waits of 1, 2, 4, 8 s between them
    webhook_retry_base_seconds: float = 1.0
    webhook_retry_max_seconds: float = 16.0
    webhook_timeout_seconds: float = 10.0
    webhook_concurrency: int = 50  # deliveries in flight at once
    webhook_busy_cpu_share: float = 0.1  # of a core, for sending while the API answers requests
    webhook_replay_max_events: int = 100_000  # events a replay may cover (expanded in one transaction)
    # Where webhooks are dispatched and sent: `child` = a process of their own beside the
    # server (its own core, lower priority); `inline` = threads of the process that follows
    # the log; `auto` = `child` under `tidemark serve --role all`, `inline` otherwise.
    webhook_delivery: Literal["auto", "inline", "child"] = "auto"
    webhook_nice: int = 10  # scheduling priority the webhook process gives up (0-19)
    # Scanning (ADR 0033): how long one scan may take in all (Harbor's 30 minutes); attempts
    # at each call to the scanner adapter when it is unreachable or answers 5xx, and the first
    # wait between them (doubling); scans in flight at once; the longest wait a scanner's
    # Refresh-After may ask; `builtin_scanner`: `auto` starts `tidemark scanner serve` beside
    # `tidemark serve --role all` and registers it as the default scanner "Tidemark".
    scan_timeout_seconds: Annotated[float, msgspec.Meta(gt=0)] = 1800.0
    scan_attempts: Annotated[int, msgspec.Meta(ge=1)] = 3
    scan_retry_base_seconds: Annotated[float, msgspec.Meta(ge=0)] = 1.0
    scan_concurrency: Annotated[int, msgspec.Meta(ge=1)] = 16
    scan_refresh_max_seconds: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    builtin_scanner: Literal["auto", "off"] = "auto"
    # Replication (ADR 0036): tasks copied at once; registry endpoints on link-local and cloud
    # metadata addresses are refused unless allowed (as webhook targets).
    replication_concurrency: Annotated[int, msgspec.Meta(ge=1)] = 4
    replication_allow_link_local: bool = False
    # Proxy-cache projects (ADR 0037): how long a cached tag is served without asking the
    # upstream again (0: a HEAD upstream at every pull); how long a read waits for one of the
    # project's `max_upstream_conn` connections before 429; the upstream's answer timeout;
    # threads that store pulled content; how long caching a manifest first waits for the
    # client's own blob reads (which store the blobs as they stream) before fetching the rest.
    proxy_cache_staleness_seconds: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    proxy_upstream_wait_seconds: Annotated[float, msgspec.Meta(ge=0)] = 5.0
    proxy_upstream_timeout_seconds: Annotated[float, msgspec.Meta(gt=0)] = 30.0
    proxy_cache_workers: Annotated[int, msgspec.Meta(ge=1)] = 2
    proxy_cache_fill_delay_seconds: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    # Sign-in throttling (ADR 0015): failures one source may have for one name, and for all
    # names, before it must wait; the first wait, doubling per failure up to the cap; how
    # long a quiet source keeps its count.
    session_idle_seconds: Annotated[float, msgspec.Meta(gt=0)] = 1800.0
    session_lifetime_seconds: Annotated[float, msgspec.Meta(gt=0)] = 28800.0
    # Keyless CI robots (ADR 0045): trust an issuer at http://127.0.0.1 (tests only; https otherwise).
    workload_issuer_allow_http_loopback: bool = False
    login_throttle_after: Annotated[int, msgspec.Meta(ge=1)] = 5
    login_throttle_source_after: Annotated[int, msgspec.Meta(ge=1)] = 20
    login_throttle_base_seconds: Annotated[float, msgspec.Meta(gt=0)] = 2.0
    login_throttle_max_seconds: Annotated[float, msgspec.Meta(gt=0)] = 900.0
    login_throttle_window_seconds: Annotated[float, msgspec.Meta(gt=0)] = 3600.0
    # Peers (addresses or networks, comma-separated) whose X-Forwarded-For names the client;
    # from anyone else the header is ignored, so a client cannot pick its own address.
    trusted_proxies: str = ""
    # A second server on a port in use is refused unless port sharing is asked for (granian
    # binds with SO_REUSEPORT, so without the check two servers would split the traffic).
    reuse_port: bool = False
    # Content trust (ADR 0035): a cosign or notation client that may push to a repository reads
    # a manifest by digest even while a content-trust gate refuses it (signing needs that read).
    content_trust_signer_pull: bool = True
    # Slow clients: a request's headers must arrive within this time (granian, HTTP/1; 1 s at
    # least) ...
    header_timeout_seconds: float = 30.0
    # ... and its body must bring `body_min_bytes` (or its end) within each such window, so a
    # stalled or trickling upload ends with 408 while a slow but steady one completes (0: off).
    body_timeout_seconds: float = 60.0
    body_min_bytes: int = 64 * 1024

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).resolve()

    @property
    def uses_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{self.data_path / 'blobs'}"

    @property
    def token_key_path(self) -> Path:
        return Path(self.token_key_file).resolve() if self.token_key_file else \
            self.data_path / "token_signing_key.pem"

    @property
    def secrets_key_path(self) -> Path:
        return Path(self.secrets_key_file).resolve() if self.secrets_key_file else \
            self.data_path / "secrets.key"

    @property
    def resolved_external_url(self) -> str:
        return (self.external_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def resolved_log_format(self) -> str:
        return self.log_format or ("console" if sys.stderr.isatty() else "json")


# Variables Tidemark sets for its own processes: not settings, and not a mistake.
INTERNAL_VARIABLES = {"TIDEMARK_SERVER_PID", "TIDEMARK_BUILTIN_SCANNER_URL"}
# The built-in scanner's settings (infra/scanner/settings.py), which it checks itself.
SCANNER_PREFIX = "TIDEMARK_SCANNER_"


def setting_names() -> list[str]:
    return [field.name for field in msgspec.structs.fields(Settings)]


def closest_setting(name: str) -> str | None:
    """The setting a misspelled key most likely meant, if one is close enough."""
    matches = difflib.get_close_matches(name.lower(), setting_names(), n=1, cutoff=0.75)
    return matches[0] if matches else None


def unknown_environment(environ=os.environ) -> list[tuple[str, str | None]]:
    """TIDEMARK_* variables that name no setting, each with the closest setting (or None)."""
    known = {PREFIX + name.upper() for name in setting_names()} | INTERNAL_VARIABLES
    return [(name, closest_setting(name[len(PREFIX):]))
            for name in sorted(environ) if name.startswith(PREFIX) and name not in known
            and not name.startswith(SCANNER_PREFIX)]


def _read_config(config_file: str) -> dict[str, object]:
    import yaml

    try:
        with open(config_file) as handle:
            loaded = yaml.safe_load(handle) or {}
    except OSError as error:
        raise SettingsError(f"cannot read the config file {config_file}: {error.strerror}") from None
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise SettingsError(f"{config_file} is not valid YAML{line}") from None
    if not isinstance(loaded, dict):
        raise SettingsError(f"{config_file} must be a mapping of setting names to values")
    values = {str(key).lower().removeprefix(PREFIX.lower()): value for key, value in loaded.items()}
    for key in values:  # a key that names no setting is a mistake that would pass silently
        if key not in setting_names():
            guess = closest_setting(key)
            hint = f"; did you mean {guess}?" if guess else ""
            raise SettingsError(f"{config_file}: unknown setting {key!r}{hint}")
    return values


def load_settings(config_file: str | None = None, **overrides: object) -> Settings:
    """Settings from a YAML file, then the environment, then explicit overrides (CLI flags)."""
    values: dict[str, object] = _read_config(config_file) if config_file else {}
    for field in msgspec.structs.fields(Settings):
        env = os.environ.get(PREFIX + field.name.upper())
        if env is not None:
            values[field.name] = env
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as error:  # "... - at `$.kafka_start`": name the variable
        message, _, where = str(error).rpartition(" - at `$.")
        name = where.rstrip("`")
        raise SettingsError(f"invalid setting {PREFIX}{name.upper()}: {message}" if name
                            else f"invalid setting: {error}") from None


class SettingsError(ValueError):
    """A setting has a value Tidemark cannot use (the message names it)."""
