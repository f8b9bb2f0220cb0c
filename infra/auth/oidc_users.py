"""OIDC users (ADR 0043): what a sign-in through the provider leaves, and how an OIDC user's
Basic password (their CLI secret) is checked.

- `OidcTokens`: each OIDC user's latest tokens (ID token, refresh token), sealed
  (infra/auth/secrets.py), in the query-model database beside the credential hashes, in a
  table no projection rebuild touches: they change at every refresh, they are secrets, and
  the facts that matter (onboarding, admin group, access ended upstream) are events.
- `OidcUsers`: the sign-in service: the provider settings from `/configurations`, the
  groups a sign-in shows (after `oidc_group_filter`), onboarding, and the CLI check: the
  CLI secret must match, and a stored token past its lifetime is refreshed at the provider
  first; `invalid_grant` (the user was disabled or removed upstream) ends CLI access.
- `OidcCredentials`: the credential store as the token authorizer sees it: an OIDC user's
  Basic password is their CLI secret (under `oidc_auth`); every other name is the
  credential store's as before, so database users (the admin first) keep working.

`record_groups(username, [(group name, "")])` is the hook the user-group work fills in:
called with the groups of every OIDC sign-in and refresh; by default it does nothing.
"""

import json
import re
import threading
import time
from typing import Any, Callable

import structlog

from domain.base import Actor, SYSTEM
from domain.errors import BadRequest, PreconditionFailed
from domain.iam.user import OIDC_AUTH, cli_secret_principal
from infra.auth.oidc_provider import Provider, ProviderError, RefreshRefused, Settings, Tokens
from infra.store.sql import Database

log = structlog.get_logger("oidc")

TABLE = """CREATE TABLE IF NOT EXISTS oidc_tokens (
    username TEXT PRIMARY KEY, sealed TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL,
    generation BIGINT NOT NULL)"""
PURPOSE = "oidc tokens of "  # + username: a sealed value cannot move to another user


def no_groups_hook(username: str, groups: list[tuple[str, str]]) -> None:
    """The default `record_groups` (infra/wiring/identity.py sets the user-group recorder)."""


class OidcTokens:
    def __init__(self, db: Database, secrets, clock: Callable[[], float] = time.time) -> None:
        self.db, self.secrets, self.clock = db, secrets, clock
        with db.write() as w:
            w.execute(TABLE)

    def save(self, username: str, tokens: Tokens) -> None:
        sealed = self.secrets.seal(json.dumps(tokens._asdict()), PURPOSE + username)
        with self.db.write() as w:
            w.execute("INSERT INTO oidc_tokens VALUES (?, ?, ?, 1) ON CONFLICT (username) DO UPDATE SET "
                      "sealed = excluded.sealed, expires_at = excluded.expires_at, "
                      "generation = oidc_tokens.generation + 1",
                      (username, sealed, self.clock() + tokens.expires_in))

    def load(self, username: str) -> tuple[Tokens, float] | None:
        rows = self.db.read("SELECT sealed, expires_at FROM oidc_tokens WHERE username = ?", (username,))
        if not rows:
            return None
        return Tokens(**json.loads(self.secrets.open(rows[0][0], PURPOSE + username))), rows[0][1]

    def generation(self, username: str) -> str:
        """Changes whenever the tokens do (a refresh, a new sign-in, an end) and when they
        pass their lifetime (so a cached success never skips a refresh that is due)."""
        rows = self.db.read("SELECT generation, expires_at FROM oidc_tokens WHERE username = ?", (username,))
        if not rows:
            return "none"
        return f"{rows[0][0]}{'-due' if rows[0][1] <= self.clock() else ''}"

    def forget(self, username: str) -> None:
        with self.db.write() as w:
            w.execute("DELETE FROM oidc_tokens WHERE username = ?", (username,))

    def usernames(self) -> list[str]:
        return [r[0] for r in self.db.read("SELECT username FROM oidc_tokens ORDER BY username")]


def groups_of(claims: dict, config: dict) -> tuple[list[str], bool]:
    """The user's groups from the groups claim, those matching `oidc_group_filter` (a regular
    expression, as in Harbor), and whether one of them is `oidc_admin_group`."""
    claim = config.get("oidc_groups_claim") or ""
    value = claims.get(claim) if claim else None
    groups = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    groups = [g for g in groups if isinstance(g, str) and g and len(g) <= 255]
    pattern = config.get("oidc_group_filter") or ""
    if pattern:
        try:
            matcher = re.compile(pattern)
        except re.error:
            matcher = None  # refused at PUT /configurations? not by Harbor: keep every group
        if matcher is not None:
            groups = [g for g in groups if matcher.search(g)]
    admin = config.get("oidc_admin_group") or ""
    return groups, bool(admin) and admin in groups


def username_claim(claims: dict, config: dict) -> str:
    """The username a sign-in suggests: `oidc_user_claim`, else Harbor's default `name`."""
    value = claims.get(config.get("oidc_user_claim") or "name")
    return value if isinstance(value, str) else ""


class OidcUsers:
    def __init__(self, registry, commands, provider: Provider | None = None) -> None:
        """`commands`: commands/iam/oidc_handlers.py's OidcCommands (wired in infra/wiring)."""
        self.registry = registry
        self.provider = provider or Provider()
        self.tokens = OidcTokens(registry.db, registry.secrets)
        self.commands = commands
        self.record_groups: Callable[[str, list[tuple[str, str]]], None] = no_groups_hook
        self._refreshing: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    # -- settings ------------------------------------------------------------------

    def config(self) -> dict:
        return self.registry.configuration.values()

    def active(self) -> bool:
        return self.config()["auth_mode"] == OIDC_AUTH

    def settings(self, config: dict | None = None) -> Settings:
        """The provider settings; 412 unless the auth mode is oidc_auth and an endpoint is set."""
        config = config or self.config()
        if config["auth_mode"] != OIDC_AUTH:
            raise PreconditionFailed(f"the auth mode is {config['auth_mode']}, not {OIDC_AUTH}")
        if not config["oidc_endpoint"] or not config["oidc_client_id"]:
            raise PreconditionFailed("OIDC is not configured: set oidc_endpoint and oidc_client_id")
        secret = config["oidc_client_secret"]
        secret = self.registry.secrets.open(secret, "system configuration oidc_client_secret") if secret else ""
        return Settings(config["oidc_endpoint"], config["oidc_client_id"], secret,
                        config["oidc_scope"] or "openid,offline_access", bool(config["oidc_verify_cert"]))

    # -- sign-in ---------------------------------------------------------------------

    def user_of(self, claims: dict) -> str | None:
        return self.commands.user_of(claims["iss"], claims["sub"])

    def signed_in(self, username: str, tokens: Tokens, actor: Actor, config: dict | None = None) -> None:
        """Keep the tokens of a sign-in (sealed), and what it said of the user's groups."""
        groups, admin = groups_of(tokens.claims, config or self.config())
        self.tokens.save(username, tokens)
        self.commands.signed_in(username, admin, actor)
        self._record_groups(username, groups)

    def onboard(self, username: str, tokens: Tokens, actor: Actor) -> int | None:
        """A new user for the tokens' subject (named `username`), signed in."""
        config = self.config()
        claims = tokens.claims
        groups, admin = groups_of(claims, config)
        realname = claims.get("name") if isinstance(claims.get("name"), str) else ""
        email = claims.get("email") if isinstance(claims.get("email"), str) else ""
        created = self.commands.onboard(self.commands.Onboard(username, email, realname[:255], claims["iss"],
                                                        claims["sub"], admin, actor))
        self.tokens.save(username, tokens)
        self._record_groups(username, groups)
        return created.position

    def _record_groups(self, username: str, groups: list[str]) -> None:
        try:
            self.record_groups(username, [(name, "") for name in groups])
        except Exception:  # a group hook's fault must not end a sign-in the provider accepted
            log.exception("recording a user's OIDC groups failed", username=username)

    # -- CLI secret --------------------------------------------------------------------

    def is_oidc_user(self, username: str) -> bool:
        return self.active() and self.registry.iam_queries.oidc_user(username) is not None

    def verify_cli_secret(self, username: str, secret: str) -> bool:
        """An OIDC user's Basic password: their CLI secret, while their provider still vouches
        for them (a stored token past its lifetime is refreshed first)."""
        if not self.registry.credentials.verify(cli_secret_principal(username), secret):
            return False
        return self.still_vouched(username)

    def still_vouched(self, username: str, force: bool = False) -> bool:
        with self._lock:
            lock = self._refreshing.setdefault(username, threading.Lock())
        with lock:  # one refresh per user at a time: a refresh token is often single-use
            stored = self.tokens.load(username)
            if stored is None:
                return False
            tokens, expires_at = stored
            if not force and expires_at > self.tokens.clock():
                return True
            if not tokens.refresh_token:
                return False  # nothing to renew with: sign in through the provider again
            try:
                fresh = self.provider.refresh(self.settings(), tokens.refresh_token, tokens)
            except RefreshRefused as error:
                self.end_access(username, f"the identity provider refused the refresh: {error}")
                return False
            except (ProviderError, PreconditionFailed, BadRequest) as error:
                log.warning("an OIDC refresh failed; CLI access refused meanwhile", username=username,
                            error=str(error)[:200])
                return False
            self.signed_in(username, fresh, SYSTEM)
            self.registry.catch_up_reads()  # the admin group it saw counts for this request
            return True

    def end_access(self, username: str, reason: str) -> None:
        self.tokens.forget(username)
        try:
            self.commands.end_upstream_access(username, reason, SYSTEM)
        except Exception:
            log.exception("recording the end of a user's upstream access failed", username=username)
        self.registry.catch_up_reads()

    def refresh_all(self) -> int:
        """Refresh every stored token now (for a schedule): returns how many lost access."""
        ended = 0
        for username in self.tokens.usernames():
            if not self.still_vouched(username, force=True) and self.tokens.load(username) is None:
                ended += 1
        return ended


class OidcCredentials:
    """The credential store as the token authorizer sees it (see the module docstring)."""

    def __init__(self, credentials, oidc: Callable[[], OidcUsers | None]) -> None:
        self.credentials = credentials
        self._oidc = oidc
        self.cache = _NoCache()  # current_hash reads through the store's own cache

    def _oidc_user(self, name: str) -> OidcUsers | None:
        oidc = self._oidc()
        return oidc if oidc is not None and oidc.is_oidc_user(name) else None

    def current_hash(self, name: str) -> str | None:
        """For an OIDC user: the CLI secret's hash and the tokens' generation, so a new secret,
        a refresh due or done, or the end of access ends cached successes at once."""
        oidc = self._oidc_user(name)
        if oidc is None:
            return self.credentials.current_hash(name)
        stored = self.credentials.current_hash(cli_secret_principal(name))
        return None if stored is None else f"{stored}#{oidc.tokens.generation(name)}"

    def verify(self, name: str, secret: str) -> bool:
        oidc = self._oidc_user(name)
        if oidc is None:
            return self.credentials.verify(name, secret)
        return oidc.verify_cli_secret(name, secret)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.credentials, attribute)


class _NoCache:
    def get(self, key):
        from projections.cache import MISS

        return MISS
