"""The system configuration keys Harbor has (`/api/v2.0/configurations`), their types,
defaults and rules.

A value sent for a key is checked here before anything is recorded: a wrong type, an
unknown key or a value out of range is a BadRequest naming the key. Secrets (LDAP search
password, UAA and OIDC client secrets) are write-only: they are sealed before their event
is made and never answered.
"""

import re
from typing import Any, Callable, NamedTuple

from domain.errors import BadRequest
from domain.input_limits import INT64_MAX
from domain.ldap_settings import check_attribute, check_dn, endpoint, normalized_filter
from domain.names import check_text

MAX_TEXT = 65_536  # characters (a PEM certificate fits)
AUTH_MODES = ("db_auth", "ldap_auth", "uaa_auth", "http_auth", "oidc_auth")
SCAN_ALL_TYPES = ("none", "daily", "weekly", "hourly", "custom")
HOST_PORT = re.compile(r"(?:(?:tcp|udp)://)?[A-Za-z0-9.\-\[\]:]+:(\d{1,5})", re.IGNORECASE)
# Robot names are `<prefix><name>` or `<prefix><project>+<name>`: the prefix ends with `$`, a
# character no user, project or robot name may hold, so a robot's name is never a user's
# and the part after the `$` is the same whatever the prefix (domain/iam/robot.py).
ROBOT_PREFIX = re.compile(r"[A-Za-z0-9_.\-]{0,32}\$")


class Key(NamedTuple):
    kind: type  # str, bool, int or dict
    default: Any
    check: Callable[[str, Any], Any] | None = None
    secret: bool = False


def _one_of(*choices: str) -> Callable[[str, Any], Any]:
    def check(key: str, value: str) -> str:
        if value not in choices:
            raise BadRequest(f"{key} must be one of {', '.join(choices)}", {"field": key})
        return value
    return check


def _between(low: int, high: int = INT64_MAX) -> Callable[[str, Any], Any]:
    def check(key: str, value: int) -> int:
        if not low <= value <= high:
            raise BadRequest(f"{key} must be between {low} and {high}", {"field": key})
        return value
    return check


SUPPORTED_AUTH_MODES = ("db_auth", "ldap_auth", "oidc_auth")


def _auth_mode(key: str, value: str) -> str:
    _one_of(*AUTH_MODES)(key, value)
    if value not in SUPPORTED_AUTH_MODES:
        raise BadRequest(f"auth_mode {value} is not supported yet: only {', '.join(SUPPORTED_AUTH_MODES)}",
                         {"field": key})
    return value


def _http_url(key: str, value: str) -> str:
    if value and not re.fullmatch(r"https?://[^\s/?#]+[^\s?#]*", value):
        raise BadRequest(f"{key} must be empty or an http(s) URL", {"field": key})
    return value


def _ldap(check: Callable[[str, str], Any], required: bool = False) -> Callable[[str, Any], Any]:
    """An LDAP setting checked by its form (domain/ldap_settings.py); empty means unset."""
    def checked(key: str, value: str) -> str:
        if not value and required:
            raise BadRequest(f"{key} must not be empty", {"field": key})
        if value:
            check(value, key)
        return value
    return checked


def _storage(key: str, value: int) -> int:
    if value < -1 or value > INT64_MAX:
        raise BadRequest(f"{key} must be -1 (unlimited) or a number of bytes", {"field": key})
    return value


def _endpoint(key: str, value: str) -> str:
    match = HOST_PORT.fullmatch(value)
    if value and (match is None or not 1 <= int(match.group(1)) <= 65535):
        raise BadRequest(f"{key} must be empty or host:port (a syslog endpoint; tcp:// or udp:// "
                         "may go first)", {"field": key})
    return value


def _robot_prefix(key: str, value: str) -> str:
    if not ROBOT_PREFIX.fullmatch(value):
        raise BadRequest(f"{key} must end with $ and hold only letters, digits, _ . - before it "
                         "(at most 32), so no user name can be a robot's", {"field": key})
    return value


def _scan_all(key: str, value: dict) -> dict:
    kind = value.get("type", "none")
    if set(value) - {"type", "parameter"} or not isinstance(kind, str) or kind not in SCAN_ALL_TYPES:
        raise BadRequest(f"{key} must be {{\"type\": {'|'.join(SCAN_ALL_TYPES)}, \"parameter\": {{...}}}}",
                         {"field": key})
    parameter = value.get("parameter") or {}
    daily = parameter.get("daily_time", 0) if isinstance(parameter, dict) else None
    if (not isinstance(parameter, dict) or set(parameter) - {"daily_time"} or isinstance(daily, bool)
            or not isinstance(daily, int) or not 0 <= daily < 86_400):
        raise BadRequest(f"{key}.parameter.daily_time must be seconds after midnight (0 to 86399)",
                         {"field": f"{key}.parameter"})
    return {"type": kind, "parameter": {"daily_time": daily}}


_S, _B, _I = "", False, 0
_SCOPE = _between(0, 2)
KEYS: dict[str, Key] = {
    "auth_mode": Key(str, "db_auth", _auth_mode),
    "primary_auth_mode": Key(bool, False),
    **{name: Key(str, _S, _ldap(check_dn)) for name in (
        "ldap_base_dn", "ldap_group_base_dn", "ldap_group_admin_dn", "ldap_search_dn")},
    **{name: Key(str, _S, _ldap(normalized_filter)) for name in ("ldap_filter", "ldap_group_search_filter")},
    "ldap_group_attribute_name": Key(str, _S, _ldap(check_attribute)),
    "ldap_url": Key(str, _S, _ldap(endpoint)),
    "ldap_group_search_scope": Key(int, 2, _SCOPE),
    "ldap_group_attach_parallel": Key(bool, False),
    "ldap_scope": Key(int, 2, _SCOPE),
    "ldap_search_password": Key(str, _S, secret=True),
    "ldap_timeout": Key(int, 5, _between(1, 3600)),
    "ldap_uid": Key(str, "cn", _ldap(check_attribute, required=True)),
    "ldap_verify_cert": Key(bool, True),
    "ldap_group_membership_attribute": Key(str, "memberof", _ldap(check_attribute)),
    "project_creation_restriction": Key(str, "everyone", _one_of("everyone", "adminonly")),
    "read_only": Key(bool, False),
    "self_registration": Key(bool, False),
    "token_expiration": Key(int, 30, _between(1, 525_600)),  # minutes, at most a year
    "uaa_client_id": Key(str, _S),
    "uaa_client_secret": Key(str, _S, secret=True),
    "uaa_endpoint": Key(str, _S),
    "uaa_verify_cert": Key(bool, False),
    **{name: Key(str, _S) for name in (
        "http_authproxy_endpoint", "http_authproxy_tokenreview_endpoint", "http_authproxy_admin_groups",
        "http_authproxy_admin_usernames", "http_authproxy_server_certificate")},
    "http_authproxy_verify_cert": Key(bool, True),
    "http_authproxy_skip_search": Key(bool, False),
    **{name: Key(str, _S) for name in (
        "oidc_name", "oidc_client_id", "oidc_groups_claim", "oidc_admin_group",
        "oidc_group_filter", "oidc_scope", "oidc_user_claim", "oidc_extra_redirect_parms")},
    "oidc_endpoint": Key(str, _S, _http_url),
    "oidc_client_secret": Key(str, _S, secret=True),
    "oidc_verify_cert": Key(bool, True),
    "oidc_auto_onboard": Key(bool, False),
    "oidc_logout": Key(bool, False),
    "robot_token_duration": Key(int, 30, _between(1, 36_500)),  # days
    "robot_name_prefix": Key(str, "robot$", _robot_prefix),
    "notification_enable": Key(bool, True),
    "quota_per_project_enable": Key(bool, True),
    "storage_per_project": Key(int, -1, _storage),
    "audit_log_forward_endpoint": Key(str, _S, _endpoint),
    "skip_audit_log_database": Key(bool, False),
    "scanner_skip_update_pulltime": Key(bool, False),
    "scan_all_policy": Key(dict, {"type": "none", "parameter": {"daily_time": 0}}, _scan_all),
    "session_timeout": Key(int, 60, _between(1, 525_600)),  # minutes
    "banner_message": Key(str, _S),
    "disabled_audit_log_event_types": Key(str, _S),
}


def _allowlist(key: str, value: dict) -> dict:
    """Harbor's CVEAllowlist body, kept as {"items": [{"cve_id": ...}], "expires_at": seconds
    or None} (checking what it returns gives it back unchanged)."""
    items, expires = value.get("items") or [], value.get("expires_at")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BadRequest("items must be a list of {\"cve_id\": ...}", {"field": "items"})
    ids = [item.get("cve_id") for item in items]
    for cve in ids:
        if not isinstance(cve, str) or not CVE_ID.fullmatch(cve):
            raise BadRequest("items[].cve_id must be a vulnerability id such as CVE-2019-10164",
                             {"field": "items.cve_id"})
    if len(set(ids)) != len(ids):
        raise BadRequest("items name a CVE more than once", {"field": "items.cve_id"})
    if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int)
                                or not 0 <= expires <= INT64_MAX):
        raise BadRequest("expires_at must be seconds since the epoch, or null", {"field": "expires_at"})
    return {"items": [{"cve_id": cve} for cve in ids], "expires_at": expires}


CVE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
# Kept in the same stream, not set through /configurations: the system CVE allowlist
# (Harbor's /system/CVEAllowlist).
SYSTEM_KEYS = {**KEYS, "cve_allowlist": Key(dict, {"items": [], "expires_at": None}, _allowlist)}
SECRETS = frozenset(name for name, key in KEYS.items() if key.secret)
DEFAULTS = {name: key.default for name, key in SYSTEM_KEYS.items()}
_TYPE_NAMES = {str: "a string", bool: "true or false", int: "an integer", dict: "an object"}


def check_value(name: str, value: Any, keys: dict[str, Key] = KEYS) -> Any:
    """The value, if `name` is a key and the value fits it; BadRequest naming the key otherwise."""
    key = keys.get(name)
    if key is None:
        raise BadRequest(f"unknown configuration key {name[:64]!r}", {"field": name[:64]})
    if not isinstance(value, key.kind) or (key.kind is int and isinstance(value, bool)):
        raise BadRequest(f"{name} must be {_TYPE_NAMES[key.kind]}", {"field": name})
    if key.kind is str:
        if len(value) > MAX_TEXT:
            raise BadRequest(f"{name} is longer than {MAX_TEXT} characters", {"field": name})
        check_text(value, name, multiline=True)
    if key.kind is int and not -INT64_MAX <= value <= INT64_MAX:
        raise BadRequest(f"{name} is out of range", {"field": name})
    return key.check(name, value) if key.check is not None else value


def check_values(values: dict[str, Any], keys: dict[str, Key] = KEYS) -> dict[str, Any]:
    """Every given key checked; a null value means "not given" (Harbor's nullable fields)."""
    return {name: check_value(name, value, keys) for name, value in values.items() if value is not None}
