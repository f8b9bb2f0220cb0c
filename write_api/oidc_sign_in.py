"""Portal sign-in through the OpenID provider, at Harbor's paths (ADR 0043):

- `GET /c/oidc/login?redirect_url=/...`: sends the browser to the provider's authorization
  endpoint (code flow, PKCE S256, state, nonce); what the callback must check travels in
  the sealed `oidc_flow` cookie (SameSite=Lax: the provider's redirect back is a cross-site
  navigation, which Strict cookies do not follow).
- `GET /c/oidc/callback`: state checked, code exchanged, ID token verified; a known subject
  gets the portal session `POST /c/login` gives (ADR 0040); an unknown one is onboarded
  with the username claim (`oidc_auto_onboard`), or sent to the portal's onboarding page
  (`/#/oidc-onboard`, the portal routes by fragment), which posts the chosen name to `POST /c/oidc/onboard`.
- `POST /api/v2.0/system/oidc/ping`: does this URL serve an OpenID discovery document?

The provider is only ever linked by (issuer, subject): a username claim naming an existing
user (the admin) never signs anyone in as them.
"""

import hmac
import json
import time
from urllib.parse import quote

import anyio.to_thread
import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import JSONBody

from domain.base import Actor
from domain.errors import BadRequest, Forbidden, Unauthorized
from infra.auth.oidc_provider import Flow, ProviderError, Tokens, extra_parameters, new_flow
from infra.http.rest import caller
from write_api.portal_sessions import _cookies, _same_origin

FLOW_COOKIE, ONBOARD_COOKIE = "oidc_flow", "oidc_onboard"
FLOW_SECONDS = 600  # a sign-in at the provider must come back within ten minutes
MAX_COOKIE = 8192


class OidcPing(msgspec.Struct, forbid_unknown_fields=True):
    url: str
    verify_cert: bool = True


class OnboardReq(msgspec.Struct):
    username: str


def _actor(request: Request, name: str) -> Actor:
    client = request.scope.get("client")
    return Actor(name=name, client_ip=client[0] if client else "",
                 request_id=request.scope.get("state", {}).get("request_id", ""))


def _callback_url(registry) -> str:
    return f"{registry.external_url}/c/oidc/callback"


def _local(path: str | None) -> str:
    """A redirect target on this site only (no open redirect through the sign-in)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or len(path) > 1024:
        return "/"
    return path


def _flow_cookie(request: Request, name: str, value: str, max_age: int) -> Cookie:
    secure = request.app.state.registry.external_url.startswith("https://")
    return Cookie(key=name, value=value, path="/c/oidc", httponly=True, samesite="lax", secure=secure,
                  max_age=max_age)


def _seal(registry, purpose: str, value: dict) -> str:
    return registry.secrets.seal(json.dumps({**value, "at": time.time()}), purpose)


def _opened(request: Request, name: str, purpose: str) -> dict:
    value = request.cookies.get(name)
    if not value or len(value) > MAX_COOKIE:
        raise BadRequest("no OIDC sign-in is in progress in this browser: start at /c/oidc/login")
    try:
        opened = json.loads(request.app.state.registry.secrets.open(value, purpose))
    except Exception:  # altered, or sealed under a key since retired
        raise BadRequest("the OIDC sign-in cookie is not valid: start at /c/oidc/login") from None
    if not isinstance(opened, dict) or time.time() - opened.get("at", 0) > FLOW_SECONDS:
        raise BadRequest("the OIDC sign-in took too long: start again at /c/oidc/login")
    return opened


@get("/c/oidc/login")
async def oidc_login(request: Request) -> Response:
    registry = request.app.state.registry
    oidc = registry.oidc

    def start() -> tuple[str, str]:
        config = oidc.config()
        settings = oidc.settings(config)
        flow = new_flow()
        try:
            url = oidc.provider.authorization_url(settings, flow, _callback_url(registry),
                                                  extra_parameters(config["oidc_extra_redirect_parms"]))
        except ProviderError as error:
            raise BadRequest(f"the OIDC provider cannot be used: {error}") from None
        redirect = _local(request.query_params.get("redirect_url"))
        return url, _seal(registry, "oidc sign-in flow", {**flow._asdict(), "redirect": redirect})
    url, cookie = await anyio.to_thread.run_sync(start)
    return Response(None, status_code=302, headers={"location": url},
                    cookies=[_flow_cookie(request, FLOW_COOKIE, cookie, FLOW_SECONDS)])


@get("/c/oidc/callback")
async def oidc_callback(request: Request) -> Response:
    """The provider's redirect back; a sign-in that fails here is recorded as a failed sign-in
    (door `oidc`, with the client's address), as a wrong password is (ADR 0015)."""
    known: list[str] = []  # the user, once the ID token named one
    try:
        return await _callback(request, known)
    except (BadRequest, Unauthorized, Forbidden):
        actor = _actor(request, "")
        request.app.state.registry.sign_ins.failed(known[0] if known else "", bool(known), "oidc",
                                                    actor.client_ip, actor.request_id, time.time())
        raise


async def _callback(request: Request, known: list[str]) -> Response:
    registry = request.app.state.registry
    oidc = registry.oidc
    opened = _opened(request, FLOW_COOKIE, "oidc sign-in flow")
    params = request.query_params
    if params.get("error"):
        raise Unauthorized(f"the identity provider refused the sign-in: {str(params.get('error'))[:80]}")
    state, code = params.get("state") or "", params.get("code") or ""
    flow = Flow(opened["state"], opened["nonce"], opened["verifier"])
    if not code or not hmac.compare_digest(state.encode(), flow.state.encode()):
        raise BadRequest("the sign-in's state does not match this browser's: start again at /c/oidc/login")

    def finish() -> tuple[str, list[Cookie], dict]:
        config = oidc.config()
        settings = oidc.settings(config)
        try:
            tokens = oidc.provider.exchange(settings, code, flow, _callback_url(registry))
        except ProviderError as error:
            raise BadRequest(f"the OIDC provider cannot be used: {error}") from None
        username = oidc.user_of(tokens.claims)
        if username is None and not config["oidc_auto_onboard"]:
            pending = _seal(registry, "oidc onboarding", {"tokens": tokens._asdict(),
                                                          "redirect": opened["redirect"]})
            suggestion = quote(_suggested(tokens, config))
            return (f"/#/oidc-onboard?username={suggestion}&redirect_url={quote(opened['redirect'])}",
                    [_flow_cookie(request, ONBOARD_COOKIE, pending, FLOW_SECONDS)], {})
        if username is None:
            username = _suggested(tokens, config)
            if not username:
                raise BadRequest(f"the ID token has no {config['oidc_user_claim'] or 'name'} claim to "
                                 "name the new user with")
            oidc.onboard(username, tokens, _actor(request, username))
        else:
            known.append(username)
            _usable(registry, username)
            oidc.signed_in(username, tokens, _actor(request, username), config)
        registry.catch_up_reads()
        token, csrf = registry.sessions.open(username)
        return opened["redirect"], _cookies(request, token, csrf), {"X-Harbor-CSRF-Token": csrf}
    location, cookies, headers = await anyio.to_thread.run_sync(finish)
    return Response(None, status_code=302, headers={"location": location, **headers},
                    cookies=[*cookies, _flow_cookie(request, FLOW_COOKIE, "", 0)])


def _suggested(tokens: Tokens, config: dict) -> str:
    from infra.auth.oidc_users import username_claim

    return username_claim(tokens.claims, config)


def _usable(registry, username: str) -> None:
    principal = registry.iam_queries.user_principal(username)
    if principal is None or not principal.usable():
        raise Unauthorized("the user of this OIDC identity is disabled or was deleted")


@post("/c/oidc/onboard", status_code=200)
async def oidc_onboard(request: Request, data: JSONBody[OnboardReq]) -> Response:
    """The username an OIDC user chose on the portal's onboarding page (Harbor's step when
    `oidc_auto_onboard` is off); the sign-in it finishes is the one in this browser's cookie."""
    registry = request.app.state.registry
    if not _same_origin(request):
        raise Forbidden("onboarding from another site refused")
    opened = _opened(request, ONBOARD_COOKIE, "oidc onboarding")
    tokens = Tokens(**opened["tokens"])

    def finish() -> tuple[str, str]:
        registry.oidc.settings()  # still OIDC
        registry.oidc.onboard(data.username, tokens, _actor(request, data.username))
        registry.catch_up_reads()
        return registry.sessions.open(data.username)
    token, csrf = await anyio.to_thread.run_sync(finish)
    return Response({"redirect_url": opened["redirect"]}, status_code=200,
                    headers={"X-Harbor-CSRF-Token": csrf},
                    cookies=[*_cookies(request, token, csrf), _flow_cookie(request, ONBOARD_COOKIE, "", 0)])


@post("/api/v2.0/system/oidc/ping", status_code=200)
async def ping_oidc(request: Request, data: JSONBody[OidcPing]) -> None:
    """Harbor's check of an OIDC endpoint before it is saved: 200, or 400 saying what failed."""
    who = await caller(request)
    await anyio.to_thread.run_sync(who.registry.oidc.provider.ping, data.url, data.verify_cert)


async def logout_url(request: Request, username: str) -> str | None:
    """Where the browser goes after sign-out: the provider's end_session_endpoint for an OIDC
    user when `oidc_logout` is on (Harbor's key), with their ID token as the hint."""
    registry = request.app.state.registry

    def find() -> str | None:
        oidc = registry.oidc
        config = oidc.config()
        if not config["oidc_logout"] or not oidc.is_oidc_user(username):
            return None
        stored = oidc.tokens.load(username)
        try:
            document = oidc.provider.discover(config["oidc_endpoint"], bool(config["oidc_verify_cert"]))
        except ProviderError:
            return None
        end = document.get("end_session_endpoint")
        if not isinstance(end, str) or not end.startswith(("http://", "https://")):
            return None
        hint = f"id_token_hint={quote(stored[0].id_token)}&" if stored else ""
        return (f"{end}{'&' if '?' in end else '?'}{hint}client_id={quote(config['oidc_client_id'])}"
                f"&post_logout_redirect_uri={quote(registry.external_url + '/')}")
    return await anyio.to_thread.run_sync(find)


ROUTES = [oidc_login, oidc_callback, oidc_onboard, ping_oidc]
