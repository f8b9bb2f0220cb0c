"""A local user account. Passwords never enter an event: only the fact that one
was set or changed is recorded; the hash lives in the credential store."""

import re

from domain.base import Actor, RegistryAggregate
from domain.errors import BadRequest, Conflict, PreconditionFailed
from domain.names import check_text, stream_id

USERNAME = re.compile(r"[^\s,\"~#%$:/\\]{1,255}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


DB_AUTH, OIDC_AUTH = "db_auth", "oidc_auth"  # Harbor's auth modes


def cli_secret_principal(username: str) -> str:
    """Where a user's CLI secret hash is kept (`:` is never in a username, so no clash)."""
    return f"cli-secret:{username}"


def user_id(username: str):
    return stream_id("user", username)


def check_username(username: str) -> str:
    if not USERNAME.fullmatch(username) or username.startswith("robot$"):
        raise BadRequest("username may not contain spaces or any of , \" ~ # % $ : / \\",
                         {"field": "username"})
    return check_text(username, "username")


def check_profile(email: str, realname: str, comment: str) -> None:
    check_email(email)
    check_text(email, "email")
    check_text(realname, "realname")
    check_text(comment, "comment", multiline=True)


def check_email(email: str) -> str:
    if email and (len(email) > 255 or not EMAIL.fullmatch(email)):
        raise BadRequest("email is not a valid address", {"field": "email"})
    return email


class User(RegistryAggregate):
    class Created(RegistryAggregate.Created):
        """A local user account was created (its password set, not recorded)."""

        username: str
        email: str
        realname: str
        comment: str
        sysadmin: bool

    class ProfileUpdated(RegistryAggregate.Event):
        """A user's email, real name or comment changed."""

        username: str
        email: str
        realname: str
        comment: str

        def apply(self, user: "User") -> None:
            user.email, user.realname, user.comment = self.email, self.realname, self.comment

    class PasswordChanged(RegistryAggregate.Event):
        """A user's password was changed (the password itself is never recorded)."""

        username: str

    class CliSecretSet(RegistryAggregate.Event):
        """An OIDC user's CLI secret (their password for docker login) was set; the old one
        stopped working. The secret is never recorded, as for passwords."""

        username: str

    class OidcLinked(RegistryAggregate.Event):
        """A user was onboarded through OIDC sign-in: this issuer's subject is them (ADR 0043)."""

        username: str
        issuer: str
        subject: str

        def apply(self, user: "User") -> None:
            user._oidc_subject, user.oidc_issuer = self.subject, self.issuer

    class AdminGroupChanged(RegistryAggregate.Event):
        """At sign-in the identity provider put the user in (or out of) the OIDC admin group:
        they are a system administrator through it while they stay in (Harbor's
        admin_role_in_auth)."""

        username: str
        member: bool

        def apply(self, user: "User") -> None:
            user.admin_by_group = self.member

    class UpstreamAccessEnded(RegistryAggregate.Event):
        """The identity provider refused to refresh the user's sign-in (disabled or removed
        upstream): their CLI secret stopped working until they sign in through it again."""

        username: str
        reason: str

    class SysadminChanged(RegistryAggregate.Event):
        """A user was granted or lost the system administrator role."""

        username: str
        sysadmin: bool

        def apply(self, user: "User") -> None:
            user.sysadmin = self.sysadmin

    class EnabledChanged(RegistryAggregate.Event):
        """A user was disabled (all access ends at once) or enabled again."""

        username: str
        enabled: bool

        def apply(self, user: "User") -> None:
            user.enabled = self.enabled

    class Deleted(RegistryAggregate.Event):
        """A user account was deleted."""

        username: str

        def apply(self, user: "User") -> None:
            user.deleted = True

    def __init__(self, username: str, email: str, realname: str, comment: str, sysadmin: bool) -> None:
        self.username = username
        self.email = email
        self.realname = realname
        self.comment = comment
        self.sysadmin = sysadmin
        self.enabled = True
        self.deleted = False
        self.admin_by_group = False
        self.oidc_issuer = ""

    @classmethod
    def create(cls, username: str, email: str, realname: str, comment: str, sysadmin: bool,
               actor: Actor) -> "User":
        check_profile(email, realname, comment)
        return cls._create(cls.Created, id=user_id(check_username(username)), username=username,
                           email=check_email(email), realname=realname[:255],
                           comment=comment[:1024], sysadmin=sysadmin, **actor.fields())

    def update_profile(self, email: str, realname: str, comment: str, actor: Actor) -> None:
        self._alive()
        if (email, realname, comment) != (self.email, self.realname, self.comment):
            check_profile(email, realname, comment)
            self.trigger_event(self.ProfileUpdated, username=self.username,
                               email=check_email(email), realname=realname[:255],
                               comment=comment[:1024], **actor.fields())

    def password_changed(self, actor: Actor) -> None:
        self._alive()
        self.trigger_event(self.PasswordChanged, username=self.username, **actor.fields())

    def set_cli_secret(self, auth_mode: str, actor: Actor) -> None:
        """Record a new CLI secret (see `check_cli_secret_allowed`)."""
        self.check_cli_secret_allowed(auth_mode)
        self.trigger_event(self.CliSecretSet, username=self.username, **actor.fields())

    def check_cli_secret_allowed(self, auth_mode: str) -> None:
        """A CLI secret exists only under OIDC sign-in, for a user onboarded through it
        (Harbor's rule; PreconditionFailed, 412, otherwise)."""
        self._alive()
        if auth_mode != OIDC_AUTH:
            raise PreconditionFailed(f"a CLI secret can only be set when the auth mode is {OIDC_AUTH}, "
                                     f"not {auth_mode}", {"auth_mode": auth_mode})
        if not self.oidc_subject:
            raise PreconditionFailed("the user was not onboarded through OIDC sign-in",
                                     {"username": self.username})

    @property
    def oidc_subject(self) -> str | None:
        """The OIDC subject the user was onboarded with; None for a database user."""
        return getattr(self, "_oidc_subject", None)

    def link_oidc(self, issuer: str, subject: str, actor: Actor) -> None:
        """Onboarding through OIDC: once only, for one (issuer, subject)."""
        self._alive()
        if self.oidc_subject:
            raise Conflict("the user is already linked to an OIDC subject", {"username": self.username})
        if not issuer or not subject:
            raise BadRequest("an OIDC identity needs an issuer and a subject")
        self.trigger_event(self.OidcLinked, username=self.username, issuer=issuer, subject=subject,
                           **actor.fields())

    def set_admin_by_group(self, member: bool, actor: Actor) -> None:
        self._alive()
        if member != getattr(self, "admin_by_group", False):
            self.trigger_event(self.AdminGroupChanged, username=self.username, member=member,
                               **actor.fields())

    def end_upstream_access(self, reason: str, actor: Actor) -> None:
        self._alive()
        self.trigger_event(self.UpstreamAccessEnded, username=self.username, reason=reason[:256],
                           **actor.fields())

    def set_sysadmin(self, sysadmin: bool, actor: Actor) -> None:
        self._alive()
        if sysadmin != self.sysadmin:
            self.trigger_event(self.SysadminChanged, username=self.username, sysadmin=sysadmin,
                               **actor.fields())

    def set_enabled(self, enabled: bool, actor: Actor) -> None:
        self._alive()
        if enabled != self.enabled:
            self.trigger_event(self.EnabledChanged, username=self.username, enabled=enabled,
                               **actor.fields())

    def delete(self, actor: Actor) -> None:
        self._alive()
        self.trigger_event(self.Deleted, username=self.username, **actor.fields())

    def _alive(self) -> None:
        if self.deleted:
            raise Conflict("user was deleted", {"username": self.username})
