"""What Harbor's LDAP routes share: the path, the saved directory, and the LdapConf body
(POST /ldap/ping) of LDAP keys to try instead of the saved ones.

The saved search password is used when the body leaves it out (or sends it empty or as the
mask), as Harbor does, but only while the URL and the search DN are the saved ones: a saved
password is never sent to another server or for another account (ADR 0042).
"""

from typing import Any

import anyio.to_thread

from domain.configuration_keys import check_value
from domain.errors import BadRequest
from infra.auth.ldap_directory import Directory, check_settings

LDAP = "/api/v2.0/ldap"
MASK = "******"
TIMEOUT_ALIAS = "ldap_connection_timeout"  # LdapConf's name for ldap_timeout


def ldap_overrides(body: Any, saved: dict[str, Any]) -> dict[str, Any]:
    """The body's LDAP keys, checked as /configurations checks them; the search password
    left out unless given, and refused for another URL or search DN than the saved ones."""
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadRequest("the body must be an LdapConf object", {"field": "body"})
    values: dict[str, Any] = {}
    for key, value in body.items():
        if value is None or not isinstance(key, str) or not key.startswith("ldap_"):
            continue
        name = "ldap_timeout" if key == TIMEOUT_ALIAS else key
        values[name] = check_value(name, value)
    password = values.pop("ldap_search_password", "")
    if password and password != MASK:
        values["ldap_search_password"] = password
        return values
    for key in ("ldap_url", "ldap_search_dn"):
        if key in values and values[key] != saved.get(key, ""):
            raise BadRequest(f"ldap_search_password is required when {key} is not the saved one "
                             "(the saved password is only sent to the saved server and account)",
                             {"field": "ldap_search_password"})
    return values


async def saved_directory(who) -> Directory:
    """The directory of the saved settings (400 naming the setting that is missing or wrong)."""
    settings = await anyio.to_thread.run_sync(who.registry.sign_in_modes.ldap_settings)
    check_settings(settings)
    return Directory(settings)
