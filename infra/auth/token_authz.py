"""The authorization seam filled in: Basic credentials or Docker bearer tokens.

- No credentials: 401 with a Bearer challenge naming the token realm and the scopes
  the request needs (infra/auth/challenges.py, ADR 0023).
- Bearer token: signature, issuer, audience and expiry are checked, then the
  action must be in the token's `access` claim (else 401 `insufficient_scope`, so the
  client fetches a token for it), and the principal behind it must still be enabled
  (a disabled user's tokens stop working at once).
- Basic credentials (users and robots): verified against the credential store,
  with a short-lived cache of successful checks; failed guesses are throttled per
  source address and recorded (infra/auth/sign_in_guard.py, ADR 0015). A caller
  without the right gets 403: other credentials, not another token, would change it.
"""

import base64
import hashlib
import threading
import time
from collections import OrderedDict

import anyio
import anyio.to_thread

from domain.iam.access import ANONYMOUS, Principal, allows, oci_actions, system_allows
from domain.base import Actor
from domain.errors import Denied, Forbidden, Unauthorized
from domain.iam.robot import is_robot_name
from domain.names import project_of
from infra.auth.challenges import CATALOG_SCOPE, challenge, request_scopes
from infra.auth.login_throttle import source_key
from infra.auth.sessions import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, Sessions, csrf_matches
from infra.auth.sign_in_guard import SignInAttempt
from infra.auth.tokens import ACCOUNT_CLAIM, token_allows, token_bound_to
from projections.cache import MISS

BASIC_CACHE_SECONDS = 60
# The subject of a scan's pull token: no user or robot name holds a ':' (domain/iam/user.py).
SCANNER_SUBJECT = "scanner:"
INSUFFICIENT = "insufficient scope: the token does not grant what this request needs"


class TokenAuthorizer:
    def __init__(self, iam, oci, credentials, tokens, sign_ins, external_url: str,
                 sessions: Sessions | None = None) -> None:
        self.iam = iam
        self.sessions = sessions
        self.oci = oci
        self.credentials = credentials
        self.sign_in = credentials  # checks passwords: infra/auth/sign_in_modes.py (ADR 0042)
        self.tokens = tokens
        self.sign_ins = sign_ins
        self._checking: dict[tuple, _Check] = {}
        self.realm = f"{external_url}/service/token"
        self._basic_ok: OrderedDict[bytes, tuple[float, str | None]] = OrderedDict()
        self._lock = threading.Lock()
        self.workload = None  # keyless CI robots: infra/auth/workload_identity.py (ADR 0045)

    # -- identifying the caller -------------------------------------------------

    async def principal_for(self, name: str) -> Principal | None:
        robot = is_robot_name(name)
        hit = self.iam.cache.get(("robot" if robot else "user", name))
        if hit is not MISS:
            return hit
        loader = self.iam.robot_principal if robot else self.iam.user_principal
        return await anyio.to_thread.run_sync(loader, name)

    async def _verify(self, token: str) -> dict:
        claims = self.tokens.cached(token)
        if claims is None:
            claims = await anyio.to_thread.run_sync(self.tokens.verify, token)
        return claims

    async def _project(self, project: str):
        hit = self.oci.cached(("project", project))
        if hit is not MISS:
            return hit
        return await anyio.to_thread.run_sync(self.oci.project, project)

    async def check_password(self, name: str, secret: str, attempt: SignInAttempt) -> Principal:
        """The principal behind Basic credentials, or Unauthorized (never saying which part was
        wrong); SignInThrottled while this source must wait after failed guesses."""
        self.sign_ins.check(attempt, name)  # first: a cached success is no way around a wait
        if self.workload is not None and self.workload.presented(name, secret):  # an ID token
            return await self.workload.sign_in(name, secret, attempt)
        key = hashlib.sha256(f"{name}\x00{secret}".encode()).digest()
        # A cached success counts only while the stored hash is the one it was checked
        # against: a password change or secret refresh ends it everywhere at once.
        stored = self.credentials.cache.get(("credential", name))
        if stored is MISS:
            stored = await anyio.to_thread.run_sync(self.credentials.current_hash, name)
        cached = self._basic_ok.get(key)
        if stored is None or cached is None or cached[0] < time.monotonic() or cached[1] != stored:
            if not await self._check_once(key, name, secret, attempt, known=stored is not None):
                raise Unauthorized("invalid username or password")
            with self._lock:
                self._basic_ok[key] = (time.monotonic() + BASIC_CACHE_SECONDS, stored)
                if len(self._basic_ok) > 10_000:
                    self._basic_ok.popitem(last=False)
        principal = await self.principal_for(name)
        if principal is None or not principal.usable():
            raise Unauthorized("invalid username or password")
        return principal

    def forget_checked_passwords(self) -> None:
        """Check every password anew (the auth mode or the directory changed: ADR 0042)."""
        with self._lock:
            self._basic_ok.clear()

    async def _check_once(self, key: bytes, name: str, secret: str, attempt: SignInAttempt,
                          known: bool) -> bool:
        """Verify a password, once for identical credentials from one source arriving together
        (a client's parallel requests): the throttle counts one check, not one per request."""
        together = (key, source_key(attempt.client_ip))
        pending = self._checking.get(together)
        if pending is not None:
            await pending.done.wait()
            if pending.error is not None:
                raise pending.error
            if not pending.finished:  # its client left before the answer: check anew
                return await self._check_once(key, name, secret, attempt, known)
            return pending.ok
        pending = self._checking[together] = _Check()
        try:
            self.sign_ins.begin(attempt, name)
            try:
                pending.ok = await anyio.to_thread.run_sync(self.sign_in.verify, name, secret)
            except BaseException:
                self.sign_ins.abandon(attempt, name)
                raise
            self.sign_ins.end(attempt, name, pending.ok, known)
            pending.finished = True
            return pending.ok
        except Exception as error:
            pending.error = error
            raise
        finally:
            del self._checking[together]
            pending.done.set()

    async def basic_principal(self, authorization: str | None, attempt: SignInAttempt) -> Principal:
        """ANONYMOUS without credentials; the user or robot for valid Basic credentials."""
        if not authorization:
            return ANONYMOUS
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "basic":
            raise Unauthorized("unsupported authorization scheme")
        try:
            name, sep, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise Unauthorized("malformed Basic credentials")
        if not sep or not name:
            raise Unauthorized("malformed Basic credentials")
        return await self.check_password(name, secret, attempt)

    # -- OCI routes -----------------------------------------------------------------

    async def authorize(self, request, repository: str | None, actions: set[str],
                        mount_from: str | None = None) -> Actor:
        """`mount_from`: the source repository of a cross-repository mount, whose `pull` the
        challenge also asks for (the mount itself checks it: `may_pull`)."""
        authorization = request.header("authorization")
        scopes = request_scopes(repository, actions, mount_from)
        if not authorization:
            raise challenge(self.realm, scopes)
        scheme = authorization.split(" ", 1)[0].lower()
        if scheme == "bearer":
            principal = await self._bearer(authorization[7:].strip(), repository, actions, scopes)
        else:
            principal = await self.basic_principal(authorization, _oci_attempt(request))
            await self._check(principal, repository, actions)
        request.state["principal"] = principal  # for time travel: whose window on the history
        return Actor(name=principal.name, client_ip=request.client_ip, request_id=request.request_id)

    async def _bearer(self, token: str, repository: str | None, actions: set[str],
                      scopes: list[str]) -> Principal:
        """The token's principal if the token grants every action; else a challenge naming
        the scopes the request needs, so the client asks the token service again (a 403
        would end it: clients re-authenticate only on 401)."""
        try:
            claims = await self._verify(token)
        except Unauthorized as error:
            raise challenge(self.realm, scopes, "invalid_token", error.message)
        subject = claims["sub"]
        if subject.startswith(SCANNER_SUBJECT):  # a scan's own pull token (workers/scanning)
            principal = Principal(kind="scanner", name=subject)
        else:
            principal = ANONYMOUS if subject == "" else await self.principal_for(subject)
        if principal is None or not principal.usable() or claims.get(ACCOUNT_CLAIM) != principal.account_id:
            raise challenge(self.realm, scopes, "invalid_token",
                            "the token's account is disabled, expired or gone")
        if repository is None:
            if "catalog" in actions and not token_allows(claims, "registry", "catalog", "*"):
                raise challenge(self.realm, scopes, "insufficient_scope", INSUFFICIENT)
            return principal
        project = project_of(repository)
        if not token_bound_to(claims, project, await self.project_id(project)):  # another incarnation
            raise challenge(self.realm, scopes, "insufficient_scope", INSUFFICIENT)
        if not all(token_allows(claims, "repository", repository, action) for action in actions):
            raise challenge(self.realm, scopes, "insufficient_scope", INSUFFICIENT)
        return principal

    async def project_id(self, project: str) -> int:
        """The id of the project of that name now, 0 when there is none: what a token's
        repository entry is bound to."""
        row = await self._project(project)
        return row.project_id if row is not None else 0

    async def _check(self, principal: Principal, repository: str | None, actions: set[str]) -> None:
        if repository is None:
            if "catalog" in actions and not system_allows(principal, "catalog", "read"):
                raise Denied("requested access to the catalog is denied")
            return
        granted = await self.granted(principal, repository, actions)
        if granted != actions:
            raise Denied("requested access to the resource is denied")

    async def granted(self, principal: Principal, repository: str, actions: set[str]) -> set[str]:
        """The OCI actions the principal holds on a repository (none if its project is unknown)."""
        return (await self.grant(principal, repository, actions))[0]

    async def grant(self, principal: Principal, repository: str, actions: set[str]) -> tuple[set[str], int]:
        """The OCI actions the principal holds on a repository, and the id of the project they
        are held in (0 when it does not exist), read from one look at the project."""
        project = project_of(repository)
        row = await self._project(project)
        if row is None:  # administrators learn it is unknown; others cannot tell it from private
            return (set(actions) if principal.sysadmin and principal.usable() else set()), 0
        return oci_actions(principal, project, row.public, actions), row.project_id

    async def catalog_projects(self, request) -> set[str] | None:
        """Projects whose repositories the caller may list: None for all (administrators,
        or a token granting `registry:catalog:*`), else those it may pull from."""
        authorization = request.header("authorization")
        if not authorization:
            raise challenge(self.realm, [CATALOG_SCOPE])
        if authorization.split(" ", 1)[0].lower() == "bearer":
            claims = await self._verify(authorization[7:].strip())
            if token_allows(claims, "registry", "catalog", "*"):
                return None
            principal = ANONYMOUS if claims["sub"] == "" else await self.principal_for(claims["sub"])
            if principal is None or not principal.usable():
                raise Unauthorized("the token's account is disabled, expired or gone")
        else:
            principal = await self.basic_principal(authorization, _oci_attempt(request))
        if system_allows(principal, "catalog", "read"):
            return None
        projects = await anyio.to_thread.run_sync(self.oci.all_projects)
        return {name for name, public in projects if allows(principal, name, public, "repository", "pull")}

    async def may_pull(self, request, repository: str) -> bool:
        """For cross-repository mounts: may the caller read the source repository? A bearer
        token must grant its pull itself; the mount is no way to read past the token."""
        try:
            await self.authorize(request, repository, {"pull"})
            return True
        except (Unauthorized, Denied):
            return False

    async def rest_principal(self, request, door: str = "rest") -> Principal:
        """The caller of a Litestar route (the REST API, or the token service as door `token`)."""
        client = request.scope.get("client")
        attempt = SignInAttempt(door, client[0] if client else "",
                                request.scope.get("state", {}).get("request_id", ""))
        authorization = request.headers.get("authorization")
        if not authorization and door == "rest" and self.sessions is not None:
            token = request.cookies.get(SESSION_COOKIE)
            if token:
                return await self.session_principal(request, token)
        return await self.basic_principal(authorization, attempt)

    async def session_principal(self, request, token: str) -> Principal:
        """The user of a portal session (anonymous once it ended: the portal signs in again).
        A state-changing request must repeat the session's CSRF token in its header."""
        session = await anyio.to_thread.run_sync(self.sessions.find, token)
        if session is None:
            return ANONYMOUS
        if request.method not in SAFE_METHODS and not csrf_matches(session, request.headers.get(CSRF_HEADER)):
            raise Forbidden("CSRF token invalid: send the X-Harbor-CSRF-Token header of this session")
        principal = await self.principal_for(session.username)
        if principal is None or not principal.usable():
            return ANONYMOUS
        return principal


class _Check:
    """A password check in progress, awaited by identical ones that arrive meanwhile."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.ok = False
        self.finished = False
        self.error: Exception | None = None


def _oci_attempt(request) -> SignInAttempt:
    return SignInAttempt("oci", request.client_ip, request.request_id)


def project_allows(principal: Principal, project: str, public: bool, resource: str, action: str) -> bool:
    return allows(principal, project, public, resource, action)
