"""Handlers for OIDC sign-in: onboarding a user for an issuer's subject, the admin group
seen at sign-in, and the end of upstream access (ADR 0043).

An onboarded user gets a random password nobody knows (the portal session of ADR 0040 is
tied to a stored hash); under `oidc_auth` their Basic password is their CLI secret.
"""

import secrets

import msgspec

from commands.application import RegistryApplication
from commands.artifacts.messages import Outcome
from commands.iam.messages import Created
from commands.retries import retried
from domain.base import Actor
from domain.errors import Conflict, NotFound
from domain.iam.oidc_subject import OidcSubject, oidc_subject_id
from domain.errors import BadRequest
from domain.iam.user import User, check_email, check_username, user_id


class OnboardOidcUser(msgspec.Struct, frozen=True):
    username: str
    email: str
    realname: str
    issuer: str
    subject: str
    admin_by_group: bool
    actor: Actor


class OidcCommands:
    Onboard = OnboardOidcUser  # for callers outside commands/ (infra/auth/oidc_users.py)

    def __init__(self, app: RegistryApplication, credentials) -> None:
        self.app = app
        self.credentials = credentials

    def user_of(self, issuer: str, subject: str) -> str | None:
        """The local user an issuer's subject was onboarded as, if any (even a deleted one:
        a name is not an identity across time, so a deleted user's subject stays theirs)."""
        link = self.app.find(oidc_subject_id(issuer, subject), OidcSubject)
        return None if link is None else link.username

    @retried
    def onboard(self, c: OnboardOidcUser) -> Created:
        check_username(c.username)
        if self.user_of(c.issuer, c.subject) is not None:
            raise Conflict("this OIDC identity was onboarded already")
        if self.app.find(user_id(c.username), User) is not None:
            raise Conflict("username already taken", {"username": c.username})
        try:
            email = check_email(c.email)
        except BadRequest:  # a provider's odd email claim is no reason to refuse the user
            email = ""
        user = User.create(c.username, email, c.realname, "onboarded through OIDC", False, c.actor)
        user.link_oidc(c.issuer, c.subject, c.actor)
        if c.admin_by_group:
            user.set_admin_by_group(True, c.actor)
        link = OidcSubject.create(c.issuer, c.subject, c.username, c.actor)
        recordings = self.app.save(user, link)
        self.credentials.set(c.username, secrets.token_urlsafe(32))  # unknown to all: see above
        return Created(min(r.notification.id for r in recordings))

    @retried
    def signed_in(self, username: str, admin_by_group: bool, actor: Actor) -> Outcome:
        """What a sign-in (portal or CLI refresh) saw: the admin group membership, if changed."""
        user = self._user(username)
        user.set_admin_by_group(admin_by_group, actor)
        return self._save(user)

    @retried
    def end_upstream_access(self, username: str, reason: str, actor: Actor) -> Outcome:
        user = self._user(username)
        user.end_upstream_access(reason, actor)
        user.set_admin_by_group(False, actor)
        return self._save(user)

    def _user(self, username: str) -> User:
        user = self.app.find(user_id(username), User)
        if user is None or user.deleted:
            raise NotFound("user not found", {"username": username})
        return user

    def _save(self, *aggregates) -> Outcome:
        recordings = self.app.save(*aggregates)
        return Outcome(position=max((r.notification.id for r in recordings), default=None))
