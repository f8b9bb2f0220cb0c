"""A project's metadata keys and CVE allowlist: which keys Harbor knows, and the values each
accepts (checked here, once, for every door: project create and update, `/metadatas`).

Values are strings, as in Harbor's API. `retention_id` is not among the keys a caller sets: the
retention policy owns it (the read side shows it from the policy).
"""

import re

from domain.errors import BadRequest

BOOLEAN_KEYS = ("public", "enable_content_trust", "enable_content_trust_cosign", "prevent_vul",
                "auto_scan", "auto_sbom_generation", "reuse_sys_cve_allowlist",
                "proxy_cache_local_on_not_found", "proxy_referrer_api")
SEVERITIES = ("none", "low", "medium", "high", "critical")
INTEGER_KEYS = ("proxy_speed_kb", "max_upstream_conn")  # -1: no limit
FILTER_KINDS = ("doublestar", "regex")
SETTABLE_KEYS = (*BOOLEAN_KEYS, "severity", *INTEGER_KEYS, "proxy_cache_filter_pattern",
                 "proxy_cache_filter_kind")
READ_ONLY_KEYS = ("retention_id",)
MAX_PATTERN = 1024
MAX_ALLOWLIST_ITEMS = 10_000
INT32_MAX = 2**31 - 1

_CVE_ID = re.compile(r"CVE-[0-9]{4}-[0-9]{4,19}")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


def _bad(key: str, message: str) -> BadRequest:
    return BadRequest(f"metadata {key}: {message}", {"field": f"metadata.{key}"})


def check_key(key: str) -> str:
    """A key a caller may set or remove; 400 naming it otherwise."""
    if key in READ_ONLY_KEYS:
        raise _bad(key, "is managed by the project's retention policy and cannot be set")
    if key not in SETTABLE_KEYS:
        raise BadRequest(f"unknown metadata key {key[:64]!r}", {"field": f"metadata.{key[:64]}"})
    return key


def check_value(key: str, value: object) -> str:
    """The value of one metadata key as stored (normalized); 400 naming the key otherwise."""
    check_key(key)
    if not isinstance(value, str):
        raise _bad(key, "must be a string")
    if key in BOOLEAN_KEYS:
        if value not in ("true", "false"):
            raise _bad(key, 'must be "true" or "false"')
        return value
    if key == "severity":
        if value.lower() not in SEVERITIES:
            raise _bad(key, "must be one of " + ", ".join(SEVERITIES))
        return value.lower()
    if key in INTEGER_KEYS:
        if not re.fullmatch(r"-?[0-9]{1,10}", value) or not -1 <= int(value) <= INT32_MAX:
            raise _bad(key, "must be an integer, -1 (no limit) or more")
        return str(int(value))
    if key == "proxy_cache_filter_kind":
        if value not in FILTER_KINDS:
            raise _bad(key, "must be doublestar or regex")
        return value
    if len(value) > MAX_PATTERN or _UNPRINTABLE.search(value):
        raise _bad(key, f"must be at most {MAX_PATTERN} printable characters")
    return value


def check_metadata(values: dict[str, object]) -> dict[str, str]:
    """Every key of a metadata map checked (keys in a stable order), or a 400 naming the first
    wrong one."""
    return {key: check_value(key, values[key]) for key in sorted(values)}


def check_pattern(metadata: dict[str, str]) -> None:
    """A regex filter pattern must be a regular expression (checked on the merged metadata)."""
    if metadata.get("proxy_cache_filter_kind") == "regex" and metadata.get("proxy_cache_filter_pattern"):
        try:
            re.compile(metadata["proxy_cache_filter_pattern"])
        except re.error as error:
            raise _bad("proxy_cache_filter_pattern", f"is not a regular expression ({error.msg})") from None


def check_allowlist(items: list[object], expires_at: object) -> tuple[list[str], int | None]:
    """A CVE allowlist as stored: CVE ids (`CVE-YYYY-NNNN...`, no duplicates, in the order
    given) and its expiry in seconds since the epoch, or None for never."""
    if expires_at is not None and (isinstance(expires_at, bool) or not isinstance(expires_at, int)
                                   or not 0 <= expires_at <= 2**62):
        raise BadRequest("cve_allowlist.expires_at must be seconds since the epoch, or null",
                         {"field": "cve_allowlist.expires_at"})
    if len(items) > MAX_ALLOWLIST_ITEMS:
        raise BadRequest(f"cve_allowlist holds at most {MAX_ALLOWLIST_ITEMS} items",
                         {"field": "cve_allowlist.items"})
    ids: list[str] = []
    for item in items:
        if not isinstance(item, str) or not _CVE_ID.fullmatch(item):
            raise BadRequest(f"invalid CVE id {str(item)[:64]!r} (expected CVE-YYYY-NNNN)",
                             {"field": "cve_allowlist.items"})
        if item in ids:
            raise BadRequest(f"duplicate CVE id {item} in the allowlist", {"field": "cve_allowlist.items"})
        ids.append(item)
    return ids, expires_at
