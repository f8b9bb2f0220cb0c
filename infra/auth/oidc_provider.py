"""Talking to an OpenID provider (ADR 0043): discovery, the authorization URL (code flow with
PKCE, state and nonce), the code exchange, ID token verification (JWKS signature, issuer,
audience, nonce, expiry), refresh, and the settings check of `/system/oidc/ping`.

Synchronous (httpx): callers run it off the event loop. Nothing here logs a token or the
client secret; errors say what was wrong with the provider, never what it was sent.
"""

import base64
import hashlib
import json
import secrets
import threading
import time
from typing import NamedTuple
from urllib.parse import urlencode

import httpx
import jwt

from domain.errors import BadRequest, Unauthorized

DISCOVERY = "/.well-known/openid-configuration"
CACHE_SECONDS = 300.0
TIMEOUT = 10.0
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
LEEWAY = 30  # seconds of clock difference with the provider


class ProviderError(Exception):
    """The provider could not be reached, or answered something that is no OIDC provider's."""


class RefreshRefused(Exception):
    """The provider refused a refresh token (`invalid_grant`): the user's access ended upstream."""


class Settings(NamedTuple):
    endpoint: str
    client_id: str
    client_secret: str
    scope: str
    verify_cert: bool


class Flow(NamedTuple):
    """What a browser's sign-in must bring back: kept sealed in a cookie until the callback."""

    state: str
    nonce: str
    verifier: str


class Tokens(NamedTuple):
    id_token: str
    refresh_token: str
    expires_in: int
    claims: dict


def new_flow() -> Flow:
    return Flow(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48))


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def scopes(scope: str) -> str:
    """Harbor's `oidc_scope` is comma separated ("openid,offline_access"); `openid` always."""
    names = [s.strip() for s in scope.replace(" ", ",").split(",") if s.strip()]
    return " ".join(dict.fromkeys(["openid", *names]))


class Provider:
    """One configured provider's documents, cached for a few minutes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._documents: dict[tuple, tuple[float, dict]] = {}

    def _client(self, verify: bool) -> httpx.Client:
        return httpx.Client(verify=verify, timeout=TIMEOUT, follow_redirects=False)

    def _get_json(self, url: str, verify: bool) -> dict:
        try:
            with self._client(verify) as client:
                response = client.get(url, headers={"accept": "application/json"})
        except httpx.HTTPError as error:
            raise ProviderError(f"cannot reach {url}: {type(error).__name__}") from None
        if response.status_code != 200:
            raise ProviderError(f"{url} answered {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            raise ProviderError(f"{url} did not answer JSON") from None
        if not isinstance(body, dict):
            raise ProviderError(f"{url} did not answer a JSON object")
        return body

    def _cached(self, key: tuple, load, fresh: bool = False) -> dict:
        with self._lock:
            hit = self._documents.get(key)
        if hit is not None and not fresh and hit[0] > time.monotonic():
            return hit[1]
        document = load()
        with self._lock:
            self._documents[key] = (time.monotonic() + CACHE_SECONDS, document)
        return document

    def discover(self, endpoint: str, verify: bool, fresh: bool = False) -> dict:
        """The provider's discovery document, checked for what the code flow needs."""
        url = endpoint.rstrip("/") + DISCOVERY

        def load() -> dict:
            document = self._get_json(url, verify)
            for field in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(document.get(field), str) or not document[field]:
                    raise ProviderError(f"the discovery document at {url} has no {field}")
            return document
        return self._cached(("discovery", url, verify), load, fresh)

    def ping(self, endpoint: str, verify: bool) -> None:
        """BadRequest saying what is wrong, unless the endpoint is an OpenID provider."""
        if not endpoint.startswith(("http://", "https://")):
            raise BadRequest("url must be an http(s) URL", {"field": "url"})
        try:
            self.discover(endpoint, verify, fresh=True)
        except ProviderError as error:
            raise BadRequest(f"the OIDC endpoint does not work: {error}", {"field": "url"})

    def authorization_url(self, s: Settings, flow: Flow, redirect_uri: str, extra: dict) -> str:
        document = self.discover(s.endpoint, s.verify_cert)
        params = {**{k: str(v) for k, v in extra.items()}, "response_type": "code",
                  "client_id": s.client_id, "redirect_uri": redirect_uri, "scope": scopes(s.scope),
                  "state": flow.state, "nonce": flow.nonce, "code_challenge": _challenge(flow.verifier),
                  "code_challenge_method": "S256"}
        base = document["authorization_endpoint"]
        return f"{base}{'&' if '?' in base else '?'}{urlencode(params)}"

    def _token_request(self, s: Settings, form: dict, id_token: bool = True) -> dict:
        document = self.discover(s.endpoint, s.verify_cert)
        try:
            with self._client(s.verify_cert) as client:
                response = client.post(document["token_endpoint"], data=form,
                                       auth=(s.client_id, s.client_secret))
        except httpx.HTTPError as error:
            raise ProviderError(f"cannot reach the token endpoint: {type(error).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200:
            code = body.get("error") if isinstance(body, dict) else None
            if code == "invalid_grant":
                raise RefreshRefused(str(body.get("error_description") or code)[:200])
            raise ProviderError(f"the token endpoint answered {response.status_code} {str(code or '')[:80]}")
        if not isinstance(body, dict) or (id_token and not isinstance(body.get("id_token"), str)):
            raise ProviderError("the token endpoint answered no ID token")
        return body

    def exchange(self, s: Settings, code: str, flow: Flow, redirect_uri: str) -> Tokens:
        """The verified tokens for an authorization code (Unauthorized if the ID token fails)."""
        try:
            body = self._token_request(s, {"grant_type": "authorization_code", "code": code,
                                           "redirect_uri": redirect_uri, "code_verifier": flow.verifier})
        except RefreshRefused:
            raise Unauthorized("the identity provider refused the authorization code") from None
        claims = self.verify_id_token(s, body["id_token"], nonce=flow.nonce)
        return self._tokens(s, body, claims)

    def refresh(self, s: Settings, refresh_token: str, old: "Tokens") -> Tokens:
        """New tokens for a refresh token; RefreshRefused when the provider says invalid_grant.
        A refresh answer need not hold an ID token (OIDC Core 12.2): the claims are then the
        userinfo endpoint's over the previous ones (the subject must stay the same)."""
        body = self._token_request(s, {"grant_type": "refresh_token", "refresh_token": refresh_token},
                                   id_token=False)
        if isinstance(body.get("id_token"), str):
            try:
                claims = self.verify_id_token(s, body["id_token"], nonce=None)
            except Unauthorized as error:
                raise ProviderError(f"the refreshed ID token is not valid: {error.message}") from None
        else:
            claims = dict(old.claims)
        tokens = self._tokens(s, body, claims, old.id_token)
        if tokens.claims.get("sub") != old.claims.get("sub"):
            raise ProviderError("the refreshed tokens are another subject's")
        return tokens if tokens.refresh_token else tokens._replace(refresh_token=refresh_token)

    def _tokens(self, s: Settings, body: dict, claims: dict, id_token: str = "") -> Tokens:
        expires = body.get("expires_in")
        expires = expires if isinstance(expires, int) and 0 < expires < 10 ** 8 else 3600
        info = self._userinfo(s, body.get("access_token"))
        if info.get("sub") == claims.get("sub"):
            claims = {**claims, **{k: v for k, v in info.items() if k not in ("iss", "aud", "nonce", "exp", "iat")}}
        refresh = body.get("refresh_token") if isinstance(body.get("refresh_token"), str) else ""
        return Tokens(body.get("id_token") or id_token, refresh, expires, claims)

    def _userinfo(self, s: Settings, access_token) -> dict:
        """Claims the provider gives only at its userinfo endpoint (groups, often); the ID
        token's win where both have one."""
        url = self.discover(s.endpoint, s.verify_cert).get("userinfo_endpoint")
        if not isinstance(url, str) or not url or not isinstance(access_token, str):
            return {}
        try:
            with self._client(s.verify_cert) as client:
                response = client.get(url, headers={"authorization": f"Bearer {access_token}"})
            body = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            return {}
        return body if isinstance(body, dict) else {}

    def verify_id_token(self, s: Settings, token: str, nonce: str | None,
                        audience: str | None = None, issuer: str | None = None) -> dict:
        """The claims of an ID token signed by the provider's keys, for this client, unexpired,
        with the nonce of this flow; Unauthorized naming what failed otherwise."""
        document = self.discover(s.endpoint, s.verify_cert)
        claims = verify_signed(token, lambda fresh: self.jwks(document["jwks_uri"], s.verify_cert, fresh),
                               audience or s.client_id, issuer or document["issuer"])
        if nonce is not None and not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise Unauthorized("the ID token's nonce is not this sign-in's")
        return claims

    def jwks(self, url: str, verify: bool, fresh: bool = False) -> dict:
        return self._cached(("jwks", url, verify), lambda: self._get_json(url, verify), fresh)


def verify_signed(token: str, jwks, audience: str, issuer: str) -> dict:
    """Claims of a JWT signed by a key of `jwks(fresh)` (fetched anew once for an unknown key
    id: the provider rotated), with this audience and issuer, unexpired."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthorized("the ID token is not a JWT") from None
    if header.get("alg") not in ALGORITHMS:  # never "none", never an HMAC with a public key
        raise Unauthorized("the ID token's algorithm is not accepted")
    key = None
    for fresh in (False, True):
        try:
            keys = jwt.PyJWKSet.from_dict(jwks(fresh)).keys
        except (jwt.PyJWTError, ProviderError, ValueError, TypeError):
            raise Unauthorized("the provider's signing keys cannot be read") from None
        kid = header.get("kid")
        key = next((k for k in keys if kid is None or k.key_id == kid), None)
        if key is not None:
            break
    if key is None:
        raise Unauthorized("the ID token is signed with a key the provider does not publish")
    try:
        return jwt.decode(token, key.key, algorithms=[header["alg"]], audience=audience, issuer=issuer,
                          leeway=LEEWAY, options={"require": ["exp", "iat", "iss", "aud", "sub"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the ID token has expired") from None
    except jwt.InvalidAudienceError:
        raise Unauthorized("the ID token is not for this client (audience)") from None
    except jwt.InvalidIssuerError:
        raise Unauthorized("the ID token is from another issuer") from None
    except jwt.PyJWTError as error:
        raise Unauthorized(f"the ID token is not valid: {type(error).__name__}") from None


def extra_parameters(text: str) -> dict:
    """`oidc_extra_redirect_parms`: a JSON object of extra authorization request parameters."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
