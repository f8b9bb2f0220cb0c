"""Keyless CI robots (ADR 0045): a CI job signs in as a robot with the ID token its CI system
gave it (GitHub Actions, GitLab, ...) instead of the robot's secret.

`docker login -u 'robot$proj+ci' -p "$ID_TOKEN"` and skopeo work unchanged: the token service
(and Basic on /v2/ and /api/v2.0) hands the password to `TokenAuthorizer.check_password`,
which gives it to `WorkloadIdentity.sign_in` when the name is a robot's and the password is a
JWT (longer than any robot secret, which is at most 128 characters). The token must be:

- signed with an asymmetric algorithm (never `none`, never HMAC) by a key of the issuer's
  JWKS, found through `{iss}/.well-known/openid-configuration` (whose `issuer` must be `iss`
  itself), cached, fetched again for an unknown key id at most every few seconds;
- from an issuer one of the robot's trust policies names exactly, with that policy's audience,
  subject and claims (domain/iam/workload_trust.py), unexpired (`exp`, `nbf`, `iat`, 30 s leeway);
- for the robot as it is now: its trust rows carry the robot's id, so a robot deleted and made
  again under the name trusts nothing until its own trust is set; disabled or expired robots
  are refused as with their secret.

The principal it answers is the robot's, with `expires_at` no later than the ID token's `exp`:
the token service never issues a registry token that outlives it. Failures go through the
sign-in throttle and are recorded as failed sign-ins with a reason (ADR 0015); the ID token is
never logged nor stored.
"""

import hashlib
import json
import threading
import time

import anyio
import anyio.to_thread
import httpx
import jwt
import msgspec
import structlog

from domain.errors import Unauthorized
from domain.iam.access import Principal
from domain.iam.robot import is_robot_name
from domain.iam.sign_ins import readable
from domain.iam.workload_trust import TrustPolicy, _is_loopback, first_refusal
from infra.auth.oidc_provider import DISCOVERY, Provider, ProviderError, verify_signed
from infra.auth.login_throttle import source_key
from infra.auth.sign_in_guard import SignInAttempt

log = structlog.get_logger("workload_identity")

MAX_SECRET = 128  # robot secrets are at most this long (the password policy); JWTs are longer
MAX_TOKEN = 16 * 1024
REFRESH_SECONDS = 10.0  # the least time between two fetches of a JWKS for an unknown key id
REFUSED = "invalid username or password"  # what the caller hears; the record says why
MAX_DOCUMENT = 256 * 1024  # a discovery document or JWKS longer than this is no issuer's


class Refused(Exception):
    def __init__(self, reason: str, known: bool = True) -> None:
        super().__init__(reason)
        self.reason, self.known = reason, known


def presents_id_token(name: str, secret: str) -> bool:
    """Whether Basic credentials are a robot's name and a JWT (no robot secret looks like one)."""
    return is_robot_name(name) and MAX_SECRET < len(secret) and secret.startswith("eyJ") \
        and secret.count(".") == 2


def _fetchable(url: str, allow_http_loopback: bool) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.scheme == "https":
        return bool(host)
    return parts.scheme == "http" and allow_http_loopback and _is_loopback(host)


class _Pending:
    """An exchange in progress, awaited by identical ones that arrive meanwhile."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.principal: Principal | None = None
        self.refused = False


class IssuerDocuments(Provider):
    """The provider client, reading at most MAX_DOCUMENT bytes of an answer: an issuer URL is
    set by whoever may update a robot, so what it answers must not cost us more than that."""

    def _get_json(self, url: str, verify: bool) -> dict:
        try:
            with self._client(verify) as client, \
                    client.stream("GET", url, headers={"accept": "application/json"}) as response:
                if response.status_code != 200:
                    raise ProviderError(f"{url} answered {response.status_code}")
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT:
                        raise ProviderError(f"{url} answered more than {MAX_DOCUMENT} bytes")
        except httpx.HTTPError as error:
            raise ProviderError(f"cannot reach {url}: {type(error).__name__}") from None
        try:
            document = json.loads(body)
        except ValueError:
            raise ProviderError(f"{url} did not answer JSON") from None
        if not isinstance(document, dict):
            raise ProviderError(f"{url} did not answer a JSON object")
        return document


class WorkloadIdentity:
    def __init__(self, iam_queries, sign_ins, allow_http_loopback: bool = False,
                 provider: Provider | None = None) -> None:
        """`iam_queries`: robots and their trust (projections/iam_queries.py); `sign_ins`: the
        SignInGuard of the token authorizer (throttle and failure record)."""
        self.iam_queries = iam_queries
        self.sign_ins = sign_ins
        self.allow_http_loopback = allow_http_loopback
        self.provider = provider or IssuerDocuments()  # documents cached for 5 minutes
        self._fetched: dict[str, float] = {}
        self._pending: dict[tuple, _Pending] = {}
        self._lock = threading.Lock()

    presented = staticmethod(presents_id_token)

    async def sign_in(self, name: str, token: str, attempt: SignInAttempt) -> Principal:
        """The robot for a valid ID token; Unauthorized otherwise (the same answer as a wrong
        secret), recorded as a failed sign-in with the reason. Identical credentials from one
        source arriving together (docker asking for several scopes at once) share one check,
        so the throttle counts one check, not one per request."""
        together = (hashlib.sha256(f"{name}\x00{token}".encode()).digest(), source_key(attempt.client_ip))
        pending = self._pending.get(together)
        if pending is not None:
            await pending.done.wait()
            if pending.principal is not None:
                return pending.principal
            if pending.refused:
                raise Unauthorized(REFUSED)
            return await self.sign_in(name, token, attempt)  # its client left: check anew
        pending = self._pending[together] = _Pending()
        try:
            pending.principal = await self._sign_in_once(name, token, attempt)
            return pending.principal
        except Unauthorized:
            pending.refused = True
            raise
        finally:
            del self._pending[together]
            pending.done.set()

    async def _sign_in_once(self, name: str, token: str, attempt: SignInAttempt) -> Principal:
        self.sign_ins.begin(attempt, name)
        try:
            try:
                principal = await anyio.to_thread.run_sync(self.exchange, name, token)
            except Refused as refused:
                self.sign_ins.end(attempt, name, False, refused.known, reason=refused.reason)
                log.warning("a workload ID token was refused", robot=readable(name[:128]),
                            reason=refused.reason, client_ip=attempt.client_ip, door=attempt.door,
                            request_id=attempt.request_id)
                raise Unauthorized(REFUSED) from None
        except BaseException as error:
            if not isinstance(error, Unauthorized):
                self.sign_ins.abandon(attempt, name)
            raise
        self.sign_ins.end(attempt, name, True, True)
        return principal

    def exchange(self, name: str, token: str) -> Principal:
        """The robot's principal, valid until the ID token expires at the latest; Refused."""
        robot = self.iam_queries.robot(name)
        if robot is None:
            raise Refused("workload identity: no such robot", known=False)
        trust = self.iam_queries.robot_trust(name)
        if trust is None:
            raise Refused("workload identity: the robot trusts no issuer")
        trusted_id, stored = trust
        policies = [msgspec.convert(p, TrustPolicy) for p in stored]
        if len(token) > MAX_TOKEN:
            raise Refused("workload identity: the ID token is too long")
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise Refused("workload identity: the password is not a JWT") from None
        candidates = [p for p in policies if p.issuer == issuer]
        if not candidates:
            raise Refused("workload identity: issuer not trusted")
        try:
            claims = verify_signed(token, lambda fresh: self._jwks(issuer, fresh),
                                   [p.audience for p in candidates], issuer)
        except Unauthorized as error:
            raise Refused(f"workload identity: {error.message}") from None
        reason = first_refusal(candidates, claims)
        if reason is not None:
            raise Refused(f"workload identity: {reason}")
        principal = self.iam_queries.robot_principal(name)
        now = self.iam_queries.robot(name)
        if principal is None or now is None or now.robot_id != trusted_id:
            raise Refused("workload identity: the robot was deleted")  # meanwhile
        if not principal.usable():
            raise Refused("workload identity: the robot is disabled or expired")
        exp = int(claims["exp"])
        until = exp if principal.expires_at < 0 else min(principal.expires_at, exp)
        return msgspec.structs.replace(principal, expires_at=until)

    def _jwks(self, issuer: str, fresh: bool) -> dict:
        """The issuer's keys; `fresh` (an unknown key id) fetches them again, at most every
        REFRESH_SECONDS per issuer, so made-up key ids cannot make us hammer the issuer."""
        verify = True  # https is always verified (system CAs); http only to loopback, for tests
        try:
            document = self.provider._cached(("workload-discovery", issuer),
                                             lambda: self._discover(issuer, verify))
            url = document["jwks_uri"]
            if fresh:
                with self._lock:
                    last = self._fetched.get(url, 0.0)
                    fresh = time.monotonic() - last >= REFRESH_SECONDS
                    if fresh:
                        self._fetched[url] = time.monotonic()
            return self.provider.jwks(url, verify, fresh)
        except ProviderError:
            raise ProviderError("the issuer's keys cannot be fetched") from None

    def _discover(self, issuer: str, verify: bool) -> dict:
        if not _fetchable(issuer, self.allow_http_loopback):
            raise ProviderError("the issuer's URL is not one to fetch")
        document = self.provider._get_json(issuer + DISCOVERY, verify)
        if document.get("issuer") != issuer:  # OpenID Connect Discovery 1.0, section 4.3
            raise ProviderError("the discovery document is another issuer's")
        url = document.get("jwks_uri")
        if not isinstance(url, str) or not _fetchable(url, self.allow_http_loopback):
            raise ProviderError("the discovery document has no usable jwks_uri")
        return document
