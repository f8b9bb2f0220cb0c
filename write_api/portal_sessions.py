"""Portal sign-in and sign-out, at Harbor's paths: `POST /c/login` (form fields `principal` and
`password`, or the same as JSON) opens a session (infra/auth/sessions.py) and sets its cookies:
`sid` (HttpOnly) and `__csrf` (readable by the portal's script, which repeats it in the
`X-Harbor-CSRF-Token` header of every change). `POST /c/log_out` ends it.

Both cookies are SameSite=Strict, Secure when the external URL is https. Users only: robot
accounts use their secret with the API, never the portal. A sign-in posted from another site
(an `Origin` that is not this server) is refused, so no page elsewhere can sign a browser in
under someone else's account.
"""

import anyio.to_thread
from litestar import Request, Response, post
from litestar.datastructures import Cookie

from domain.errors import Forbidden, Unauthorized
from domain.iam.robot import is_robot_name
from infra.auth.sessions import CSRF_COOKIE, SESSION_COOKIE
from infra.auth.sign_in_guard import SignInAttempt

MAX_FIELD = 1024


def _cookies(request: Request, session: str, csrf: str, max_age: int | None = None) -> list[Cookie]:
    secure = request.app.state.registry.external_url.startswith("https://")
    return [Cookie(key=SESSION_COOKIE, value=session, path="/", httponly=True, samesite="strict",
                   secure=secure, max_age=max_age),
            Cookie(key=CSRF_COOKIE, value=csrf, path="/", httponly=False, samesite="strict",
                   secure=secure, max_age=max_age)]


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser's cross-site form (browsers send Origin on every POST)
    host = request.headers.get("host", "")
    external = request.app.state.registry.external_url
    return origin.rstrip("/") == external or origin.split("://", 1)[-1] == host


async def _credentials(request: Request) -> tuple[str, str]:
    if (request.headers.get("content-type") or "").startswith("application/json"):
        body = await request.json()
        fields = body if isinstance(body, dict) else {}
    else:
        fields = await request.form()
    name, password = fields.get("principal"), fields.get("password")
    if not isinstance(name, str) or not isinstance(password, str) or not name or not password:
        raise Unauthorized("invalid username or password")
    if len(name) > MAX_FIELD or len(password) > MAX_FIELD:
        raise Unauthorized("invalid username or password")
    return name, password


@post("/c/login", status_code=200)
async def sign_in(request: Request) -> Response:
    registry = request.app.state.registry
    if not _same_origin(request):
        raise Forbidden("sign-in from another site refused")
    name, password = await _credentials(request)
    if is_robot_name(name):
        raise Unauthorized("robot accounts cannot sign in to the portal")
    client = request.scope.get("client")
    attempt = SignInAttempt("portal", client[0] if client else "",
                            request.scope.get("state", {}).get("request_id", ""))
    principal = await registry.authorizer.check_password(name, password, attempt)
    if principal.kind != "user":
        raise Unauthorized("invalid username or password")
    token, csrf = await anyio.to_thread.run_sync(registry.sessions.open, principal.name)
    return Response(None, status_code=200, headers={"X-Harbor-CSRF-Token": csrf},
                    cookies=_cookies(request, token, csrf))


@post("/c/log_out", status_code=200)
async def sign_out(request: Request) -> Response:
    """Ends the session of the cookie (with its CSRF token: no other site can sign you out);
    without a live session there is nothing to end, and the cookies are cleared all the same."""
    registry = request.app.state.registry
    from write_api.oidc_sign_in import logout_url

    token, redirect = request.cookies.get(SESSION_COOKIE), None
    # the REST API's own session check (CSRF included): a live session's user, else anonymous
    principal = (await registry.authorizer.session_principal(request, token)) if token else None
    if principal is not None and not principal.anonymous:
        redirect = await logout_url(request, principal.name)  # the OIDC provider's sign-out, if any
        await anyio.to_thread.run_sync(registry.sessions.close, token)
    return Response({"redirect_url": redirect} if redirect else None, status_code=200,
                    cookies=_cookies(request, "", "", max_age=0))
