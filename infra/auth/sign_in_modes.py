"""Checking a sign-in password by the system's auth mode (Harbor's `auth_mode`, ADR 0042).

Every door that takes a password (the token service, Basic on /api/v2.0 and /v2/, the
portal's /c/login) reaches `SignInModes.verify` through `TokenAuthorizer`, inside the
throttle and the failure record (ADR 0015), so a failed LDAP sign-in is throttled and
recorded like any other.

- `db_auth`: the password hash in the credential store.
- `ldap_auth`: the directory decides for every name it holds: the search account finds the
  user's entry (`ldap_filter` and `ldap_uid`, the name escaped), then a bind as that entry
  with the password checks it. A user the directory holds is onboarded on the first
  successful sign-in (the normal user-creation command, e-mail and real name from the
  entry, a random password nobody knows), and their groups are resolved and handed to
  `groups_found`. Beyond Harbor, database users keep working beside the directory: `admin`
  and robots are always checked in the database, and so is a name the directory does not
  hold, or any name while the directory cannot be reached, so an outage never locks the
  administrator out (an onboarded user's database password is the random one: they wait).
"""

from __future__ import annotations

from typing import Callable

import structlog

from domain.errors import BadRequest, Conflict
from domain.iam.robot import is_robot_name
from domain.iam.sign_ins import readable
from domain.ldap_settings import same_dn
from infra.auth.ldap_directory import Directory, DirectoryError, DirectoryUser, LdapSettings

log = structlog.get_logger("sign_ins")

LDAP_AUTH = "ldap_auth"
ADMIN = "admin"
SEARCH_PASSWORD_PURPOSE = "system configuration ldap_search_password"  # commands/configuration_handlers.py

Groups = list[tuple[str, str]]  # (group name, group DN)


def no_groups_kept(username: str, groups: Groups) -> None:
    """The default `groups_found`: user groups (issue 17, section 4) replace it."""


class SignInModes:
    """`verify(name, password)`: whether the password is right for the current auth mode.

    `onboard(user)` creates a Tidemark user for a directory entry (wiring: the user-creation
    command); `groups_found(username, [(group name, group DN), ...])` is told the groups
    resolved at each successful directory sign-in (empty when none or unresolvable).
    """

    def __init__(self, credentials, configuration, secrets, onboard: Callable[[DirectoryUser], None],
                 known_user: Callable[[str], bool]) -> None:
        self.credentials = credentials
        self.configuration = configuration
        self.secrets = secrets
        self.onboard = onboard
        self.known_user = known_user
        self.groups_found: Callable[[str, Groups], None] = no_groups_kept
        # Users the directory's admin group made administrators at their last sign-in
        # (`ldap_group_admin_dn`, as Harbor: for what they signed in to, not stored).
        self.directory_admins: set[str] = set()

    def mode(self) -> str:
        return self.configuration.value("auth_mode")

    def ldap_settings(self, values: dict | None = None) -> LdapSettings:
        """The saved LDAP settings (the search password opened), or `values` over them."""
        saved = self.configuration.values()
        merged = {**saved, **(values or {})}
        password = (values or {}).get("ldap_search_password")
        if password is None:
            stored = saved.get("ldap_search_password") or ""
            password = self.secrets.open(stored, SEARCH_PASSWORD_PURPOSE) if stored else ""
        return LdapSettings.from_values(merged, password)

    def verify(self, name: str, password: str) -> bool:
        if self.mode() != LDAP_AUTH or name == ADMIN or is_robot_name(name):
            return self.credentials.verify(name, password)
        try:
            directory = Directory(self.ldap_settings())
            user = directory.find_user(name)
        except (DirectoryError, BadRequest) as error:
            log.warning("LDAP unavailable: checking the database password instead", user=readable(name),
                        reason=error.message)
            return self.credentials.verify(name, password)
        if user is None or user.username != name:  # not the directory's: maybe a database user
            return self.credentials.verify(name, password)
        try:
            if not directory.password_matches(user, password):
                return False
        except DirectoryError as error:
            log.warning("LDAP sign-in not checked", user=readable(name), reason=error.message)
            return False
        if not self.known_user(name):
            try:
                self.onboard(user)
            except Conflict:  # a parallel first sign-in onboarded them
                pass
            except BadRequest as error:  # a uid Tidemark cannot hold as a username
                log.warning("LDAP user not onboarded", user=readable(name), reason=error.message)
                return False
        self._groups(directory, user, name)
        return True

    def _groups(self, directory: Directory, user: DirectoryUser, name: str) -> None:
        try:
            groups = directory.groups_of(user)
        except (DirectoryError, BadRequest) as error:
            log.warning("LDAP groups not resolved", user=readable(name), reason=error.message)
            groups = []
        admin_dn = directory.s.group_admin_dn
        if admin_dn and any(same_dn(g.dn, admin_dn) for g in groups):
            self.directory_admins.add(name)
        else:
            self.directory_admins.discard(name)
        try:
            self.groups_found(name, [(g.name, g.dn) for g in groups])
        except Exception:  # recording the groups must not undo a sign-in the directory accepted
            log.exception("recording a user's LDAP groups failed", user=readable(name))

    def is_directory_admin(self, name: str) -> bool:
        """Whether the directory's admin group made `name` an administrator at sign-in
        (only while the auth mode is still ldap_auth)."""
        return name in self.directory_admins and self.mode() == LDAP_AUTH
