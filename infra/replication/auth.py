"""Answering another registry's 401: Basic credentials, or Bearer tokens from its token service.

A request goes out first with what is known to work (a cached token for its scopes, or Basic
once the registry asked for Basic); a 401 names the scheme in `WWW-Authenticate`:
- `Basic realm=...`: send the configured username and password;
- `Bearer realm=...,service=...,scope=...`: ask the realm for a token covering the challenge's
  scopes and the operation's own ones (Docker Hub names no scope), with Basic credentials when
  configured, anonymously otherwise; keep it per scopes until shortly before `expires_in`.
Credentials and tokens go only into Authorization headers: `scrub` removes them from any text
that might reach an error message.
"""

import base64
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import httpx

from infra.replication.errors import Refused, ServerError, Unauthorized, oci_reason

DEFAULT_TOKEN_SECONDS = 60  # the Docker token spec's default and minimum
TOKEN_MARGIN_SECONDS = 10

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_SCHEME = re.compile(rf"[\s,]*({_TOKEN})")
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)\s*,?')
_ESCAPED = re.compile(r"\\(.)")


@dataclass(frozen=True)
class Challenge:
    """One challenge of a `WWW-Authenticate` header; `scheme` is lower case."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")

    @property
    def service(self) -> str:
        return self.params.get("service", "")

    @property
    def scopes(self) -> list[str]:
        return self.params.get("scope", "").split()


def parse_challenges(header: str) -> list[Challenge]:
    """The challenges of a `WWW-Authenticate` value (RFC 7235 auth-params, quoted or not)."""
    challenges: list[Challenge] = []
    position = 0
    while position < len(header):
        scheme = _SCHEME.match(header, position)
        if scheme is None:
            break
        position = scheme.end()
        params: dict[str, str] = {}
        while (param := _PARAM.match(header, position)) is not None:
            value = param.group(2)
            if value.startswith('"'):
                value = _ESCAPED.sub(r"\1", value[1:-1])
            params[param.group(1).lower()] = value
            position = param.end()
        challenges.append(Challenge(scheme.group(1).lower(), params))
    return challenges


TokenFetch = Callable[[str, list[tuple[str, str]], str | None], httpx.Response]
"""GET a token realm with query params and an optional Authorization value; the answer read."""


class Authenticator:
    """The credentials of one registry client and the tokens they earned, per scopes."""

    def __init__(self, registry: str, username: str = "", password: str = "", *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.registry = registry
        self.username = username
        self._password = password
        self._clock = clock
        self._lock = threading.Lock()
        self._basic_scheme = False  # the registry asked for Basic: send it up front
        self._bearer: tuple[str, str] | None = None  # (realm, service) of its token service
        self._tokens: dict[tuple, tuple[str, float]] = {}

    # -- what a request carries -------------------------------------------------

    def authorization(self, scopes: tuple[str, ...], fetch: TokenFetch) -> str | None:
        """The Authorization value to send first for an operation needing `scopes`: a cached
        or (for a registry known to want Bearer) a freshly fetched token, Basic for a registry
        that asked for Basic, else None (anonymous, to learn the scheme)."""
        if self._basic_scheme:
            return self._basic()
        if self._bearer is None:
            return None
        realm, service = self._bearer
        return f"Bearer {self._token(realm, service, scopes, fetch)}"

    def answer(self, header: str | None, scopes: tuple[str, ...], sent: str | None,
               fetch: TokenFetch) -> str:
        """The Authorization value to retry with after a 401 whose challenge is `header`, for a
        request that carried `sent`; Unauthorized when nothing else is worth trying."""
        challenges = parse_challenges(header or "")
        bearer = next((c for c in challenges if c.scheme == "bearer" and c.realm), None)
        if bearer is not None:
            realm_service = (bearer.realm, bearer.service)
            wanted = tuple(dict.fromkeys([*scopes, *bearer.scopes]))
            with self._lock:
                self._bearer = realm_service
                self._basic_scheme = False
                if sent and sent.startswith("Bearer "):  # expired or short of scope: ask anew
                    self._tokens.pop((*realm_service, scopes), None)
            return f"Bearer {self._token(bearer.realm, bearer.service, scopes, fetch, wanted)}"
        if any(c.scheme == "basic" for c in challenges):
            if not self.username:
                raise Unauthorized(f"registry {self.registry} requires credentials (Basic) and "
                                   f"none are configured")
            if sent and sent.startswith("Basic "):
                raise Unauthorized(f"registry {self.registry} refused the credentials of user "
                                   f"{self.username!r}")
            self._basic_scheme = True
            return self._basic()
        what = "credentials were refused" if sent else "it asks for authentication"
        raise Unauthorized(f"registry {self.registry} answered 401 ({what}) with no Basic or "
                           f"Bearer challenge to answer")

    def scrub(self, text: str) -> str:
        """`text` without the password, the Basic value or any token this client holds."""
        secrets = [self._password, self._basic_value()] if self._password else []
        with self._lock:
            secrets += [token for token, _ in self._tokens.values()]
        for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    # -- tokens -----------------------------------------------------------------

    def _token(self, realm: str, service: str, scopes: tuple[str, ...], fetch: TokenFetch,
               wanted: tuple[str, ...] | None = None) -> str:
        key = (realm, service, scopes)
        now = self._clock()
        with self._lock:
            cached = self._tokens.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        token, lifetime = self._fetch_token(realm, service, wanted or scopes, fetch)
        with self._lock:
            self._tokens[key] = (token, now + max(lifetime - TOKEN_MARGIN_SECONDS, lifetime / 2))
        return token

    def _fetch_token(self, realm: str, service: str, scopes: tuple[str, ...],
                     fetch: TokenFetch) -> tuple[str, float]:
        if not realm.startswith(("https://", "http://")):
            raise Refused(f"registry {self.registry} names a token service that is not an "
                          f"http(s) URL")
        params = ([("service", service)] if service else []) + [("scope", s) for s in scopes]
        response = fetch(realm, params, self._basic() if self.username else None)
        status = response.status_code
        if status in (401, 403):
            if self.username:
                raise Unauthorized(f"registry {self.registry}: its token service refused the "
                                   f"credentials of user {self.username!r} (HTTP {status})")
            raise Unauthorized(f"registry {self.registry} requires credentials: its token "
                               f"service refused anonymous access (HTTP {status})")
        if status == 429 or status >= 500:
            raise ServerError(f"registry {self.registry}: its token service failed (HTTP {status})")
        if status != 200:
            reason = self.scrub(oci_reason(response))
            raise Refused(f"registry {self.registry}: its token service refused the request "
                          f"(HTTP {status}{' ' + reason if reason else ''})")
        try:
            answer = json.loads(response.content)
            token = answer.get("token") or answer.get("access_token")
            lifetime = float(answer.get("expires_in") or DEFAULT_TOKEN_SECONDS)
        except (ValueError, AttributeError, TypeError):
            token, lifetime = None, 0.0
        if not isinstance(token, str) or not token:
            raise Refused(f"registry {self.registry}: its token service answered without a token")
        return token, max(lifetime, 1.0)

    def _basic_value(self) -> str:
        return base64.b64encode(f"{self.username}:{self._password}".encode()).decode("ascii")

    def _basic(self) -> str:
        return f"Basic {self._basic_value()}"
