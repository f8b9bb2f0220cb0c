"""Talking to an LDAP directory (ldap3, pure Python): the settings Harbor has, a ping, user
and group searches, and a bind as a user to check a password (ADR 0042).

Everything a caller gives goes into a filter escaped (RFC 4515, `escape_filter_chars`), and a
DN a caller gives is parsed (RFC 4514) before it is used as a search base, so a username
such as `*)(uid=*` matches only an entry whose uid is those very characters. TLS (`ldaps://`,
or StartTLS with `ldap+starttls://`) verifies the server's certificate and name against the
system's trust store (SSL_CERT_FILE) unless `ldap_verify_cert` is off. Calls block: run them
off the event loop. Passwords are never logged or put in a message.
"""

from __future__ import annotations

import ssl
from typing import Any, Iterator

import msgspec
from ldap3 import BASE, LEVEL, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException, LDAPStartTLSError
from ldap3.utils.conv import escape_filter_chars

from domain.errors import BadRequest, RegistryError
from domain.ldap_settings import check_attribute, check_dn, endpoint, normalized_filter, under

SCOPES = {0: BASE, 1: LEVEL, 2: SUBTREE}  # Harbor's ldap_scope numbers
SEARCH_LIMIT = 1000  # entries one search answers at most
INVALID_CREDENTIALS = 49


class DirectoryError(RegistryError):
    """The directory could not answer: unreachable, TLS refused, or our search account
    refused (answered 503 with the reason; never a 500)."""

    code = "UNAVAILABLE"


class LdapSettings(msgspec.Struct, frozen=True):
    """Harbor's LDAP keys, as /configurations stores them (the password opened)."""

    url: str = ""
    search_dn: str = ""
    search_password: str = ""
    base_dn: str = ""
    filter: str = ""
    uid: str = "cn"
    scope: int = 2
    timeout: int = 5
    verify_cert: bool = True
    group_base_dn: str = ""
    group_search_filter: str = ""
    group_attribute_name: str = ""
    group_admin_dn: str = ""
    group_membership_attribute: str = "memberof"
    group_search_scope: int = 2

    @classmethod
    def from_values(cls, values: dict[str, Any], search_password: str) -> "LdapSettings":
        """From configuration values (`ldap_*` keys; `ldap_connection_timeout` as Harbor's
        LdapConf names the timeout)."""
        timeout = values.get("ldap_connection_timeout") or values.get("ldap_timeout") or 5
        return cls(url=values.get("ldap_url") or "", search_dn=values.get("ldap_search_dn") or "",
                   search_password=search_password, base_dn=values.get("ldap_base_dn") or "",
                   filter=values.get("ldap_filter") or "", uid=values.get("ldap_uid") or "cn",
                   scope=_int(values.get("ldap_scope"), 2), timeout=int(timeout),
                   verify_cert=values.get("ldap_verify_cert", True) is not False,
                   group_base_dn=values.get("ldap_group_base_dn") or "",
                   group_search_filter=values.get("ldap_group_search_filter") or "",
                   group_attribute_name=values.get("ldap_group_attribute_name") or "",
                   group_admin_dn=values.get("ldap_group_admin_dn") or "",
                   group_membership_attribute=values.get("ldap_group_membership_attribute") or "memberof",
                   group_search_scope=_int(values.get("ldap_group_search_scope"), 2))


class DirectoryUser(msgspec.Struct, frozen=True):
    dn: str
    username: str
    realname: str = ""
    email: str = ""
    member_of: list[str] = []  # group DNs from the membership attribute (memberOf)


class DirectoryGroup(msgspec.Struct, frozen=True):
    name: str
    dn: str


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def check_settings(s: LdapSettings) -> None:
    """BadRequest naming the key whose value cannot work (before any connection is tried)."""
    endpoint(s.url)
    for key, value in (("ldap_base_dn", s.base_dn), ("ldap_search_dn", s.search_dn),
                       ("ldap_group_base_dn", s.group_base_dn), ("ldap_group_admin_dn", s.group_admin_dn)):
        if value:
            check_dn(value, key)
    if not s.base_dn:
        raise BadRequest("ldap_base_dn is required", {"field": "ldap_base_dn"})
    for key, value in (("ldap_uid", s.uid), ("ldap_group_attribute_name", s.group_attribute_name),
                       ("ldap_group_membership_attribute", s.group_membership_attribute)):
        check_attribute(value, key)
    for key, value in (("ldap_filter", s.filter), ("ldap_group_search_filter", s.group_search_filter)):
        normalized_filter(value, key)
    if s.scope not in SCOPES or s.group_search_scope not in SCOPES:
        raise BadRequest("ldap_scope and ldap_group_search_scope must be 0 (base), 1 (one level) "
                         "or 2 (subtree)", {"field": "ldap_scope"})
    if not 1 <= s.timeout <= 3600:
        raise BadRequest("ldap_timeout must be between 1 and 3600 seconds", {"field": "ldap_timeout"})


class Directory:
    """One directory, as the settings describe it; every call opens its own connection."""

    def __init__(self, settings: LdapSettings) -> None:
        self.s = settings
        self.host, self.port, self.tls = endpoint(settings.url)

    def _server(self) -> Server:
        validate = ssl.CERT_REQUIRED if self.s.verify_cert else ssl.CERT_NONE
        return Server(self.host, port=self.port, use_ssl=self.tls == "ldaps", get_info="NO_INFO",
                      tls=Tls(validate=validate), connect_timeout=self.s.timeout)

    def _connect(self, dn: str, password: str) -> tuple[Connection | None, str]:
        """A bound connection, or (None, why) when the directory refused the credentials;
        DirectoryError when it could not be reached."""
        connection = Connection(self._server(), user=dn or None, password=password if dn else None,
                                receive_timeout=self.s.timeout, read_only=True, raise_exceptions=False,
                                auto_referrals=False)
        try:
            connection.open()
            if self.tls == "starttls" and not connection.start_tls():
                raise DirectoryError(f"StartTLS with {self.host}:{self.port} failed")
            if connection.bind():
                return connection, ""
            why = connection.result.get("description") or "bind refused"
            code = connection.result.get("result")
        except LDAPStartTLSError as error:
            _close(connection)
            raise DirectoryError(f"StartTLS with {self.host}:{self.port} failed: {_reason(error)}")
        except LDAPException as error:
            _close(connection)
            raise DirectoryError(f"cannot reach the LDAP server {self.host}:{self.port}: {_reason(error)}")
        _close(connection)
        if code == INVALID_CREDENTIALS or dn:
            return None, why
        raise DirectoryError(f"the LDAP server {self.host}:{self.port} refused an anonymous bind: {why}")

    def _search_session(self) -> Connection:
        connection, why = self._connect(self.s.search_dn, self.s.search_password)
        if connection is None:
            raise DirectoryError(f"the LDAP server refused the search account (ldap_search_dn): {why}")
        return connection

    def ping(self) -> None:
        """Bind with the search account (anonymously without one); DirectoryError if refused."""
        _close(self._search_session())

    def _entries(self, connection: Connection, base: str, query: str, scope: int,
                 attributes: list[str], limit: int = SEARCH_LIMIT) -> Iterator[tuple[str, dict]]:
        try:
            connection.search(base, query, search_scope=SCOPES[scope], attributes=attributes,
                              size_limit=limit, time_limit=self.s.timeout)
        except LDAPException as error:
            raise DirectoryError(f"the LDAP search failed: {_reason(error)}")
        result = connection.result.get("result")
        if result not in (0, 4, 32):  # success, size limit exceeded, no such object
            raise DirectoryError(f"the LDAP search failed: {connection.result.get('description')}")
        for entry in connection.response or []:
            if entry.get("type") == "searchResEntry":
                yield entry["dn"], {k.lower(): v for k, v in (entry.get("attributes") or {}).items()}

    def _user_filter(self, username: str | None) -> str:
        value = "*" if username is None else escape_filter_chars(username)
        own = normalized_filter(self.s.filter, "ldap_filter")
        return f"(&{own}({self.s.uid}={value}))"

    def _user(self, dn: str, attributes: dict, username: str) -> DirectoryUser:
        def first(*names: str) -> str:
            for name in names:
                value = attributes.get(name)
                if isinstance(value, list):
                    value = value[0] if value else ""
                if value:
                    return str(value)
            return ""
        member_of = attributes.get(self.s.group_membership_attribute.lower()) or []
        return DirectoryUser(dn=dn, username=first(self.s.uid.lower()) or username,
                             realname=first("displayname", "cn", self.s.uid.lower()),
                             email=first("mail", "email"),
                             member_of=[str(g) for g in (member_of if isinstance(member_of, list) else [member_of])])

    def _user_attributes(self) -> list[str]:
        return [self.s.uid, "cn", "displayName", "mail", "email", self.s.group_membership_attribute]

    def search_users(self, username: str | None) -> list[DirectoryUser]:
        """Entries whose uid attribute equals `username` (every user for None or "")."""
        connection = self._search_session()
        try:
            return [self._user(dn, attributes, username or "") for dn, attributes in self._entries(
                connection, self.s.base_dn, self._user_filter(username or None), self.s.scope,
                self._user_attributes())]
        finally:
            _close(connection)

    def find_user(self, username: str) -> DirectoryUser | None:
        """The one entry for `username`; None if there is none, or more than one (ambiguous:
        refused rather than guessed)."""
        found = self.search_users(username) if username else []
        exact = [u for u in found if u.username == username] or found
        return exact[0] if len(exact) == 1 else None

    def password_matches(self, user: DirectoryUser, password: str) -> bool:
        """Bind as the user. An empty password is refused here: LDAP would take it as an
        unauthenticated bind and answer success (RFC 4513 5.1.2)."""
        if not password:
            return False
        connection, _ = self._connect(user.dn, password)
        if connection is None:
            return False
        _close(connection)
        return True

    def groups_of(self, user: DirectoryUser) -> list[DirectoryGroup]:
        """The user's groups: the membership attribute's DNs (memberOf) under the group base
        DN, or else a search of the group base DN for groups naming the user as a member."""
        if not self.s.group_base_dn and not user.member_of:
            return []
        connection = self._search_session()
        try:
            if user.member_of:
                groups = []
                for dn in user.member_of:
                    if self.s.group_base_dn and not under(dn, self.s.group_base_dn):
                        continue
                    groups += [self._group(d, a) for d, a in self._entries(
                        connection, dn, "(objectClass=*)", 0, self._group_attributes(), 1)]
                return groups
            who = escape_filter_chars(user.dn)
            members = (f"(|(member={who})(uniqueMember={who})"
                       f"(memberUid={escape_filter_chars(user.username)}))")
            return [self._group(d, a) for d, a in self._entries(
                connection, self.s.group_base_dn, f"(&{self._group_filter()}{members})",
                self.s.group_search_scope, self._group_attributes())]
        finally:
            _close(connection)

    def _group_filter(self) -> str:
        return normalized_filter(self.s.group_search_filter, "ldap_group_search_filter") or "(objectClass=*)"

    def _group_attributes(self) -> list[str]:
        return [self.s.group_attribute_name or "cn", "cn"]

    def _group(self, dn: str, attributes: dict) -> DirectoryGroup:
        name = attributes.get((self.s.group_attribute_name or "cn").lower()) or attributes.get("cn") or ""
        if isinstance(name, list):
            name = name[0] if name else ""
        return DirectoryGroup(name=str(name), dn=dn)

    def search_groups(self, name: str | None, dn: str | None) -> list[DirectoryGroup]:
        """Groups under the group base DN: the one at `dn`, or those whose name attribute is
        `name` (every group for neither)."""
        if not self.s.group_base_dn:
            raise BadRequest("ldap_group_base_dn is not set", {"field": "ldap_group_base_dn"})
        connection = self._search_session()
        try:
            if dn:
                check_dn(dn, "groupdn")
                if not under(dn, self.s.group_base_dn):
                    return []
                return [self._group(d, a) for d, a in self._entries(
                    connection, dn, self._group_filter(), 0, self._group_attributes(), 1)]
            attribute = self.s.group_attribute_name or "cn"
            query = f"(&{self._group_filter()}({attribute}={escape_filter_chars(name) if name else '*'}))"
            return [self._group(d, a) for d, a in self._entries(
                connection, self.s.group_base_dn, query, self.s.group_search_scope, self._group_attributes())]
        finally:
            _close(connection)


def _close(connection: Connection) -> None:
    """Unbind, and never fail doing it (the socket may be gone already)."""
    try:
        connection.unbind()
    except LDAPException:
        pass


def _reason(error: Exception) -> str:
    """An ldap3 error's text without anything a caller sent (no password is in it)."""
    text = str(error) or type(error).__name__
    return text[:300]
