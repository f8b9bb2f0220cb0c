"""Harbor's LDAP routes that act: ping a directory (POST /ldap/ping) and import users from
it (POST /ldap/users/import). System administrators only (infra/http/route_permissions.py).
A ping records nothing; an import records a user created for each uid."""

from typing import Any

import anyio.to_thread
from litestar import Request, Response, post
from litestar.params import JSONBody

from commands.iam.handlers import new_secret
from commands.iam.messages import CreateUser
from domain.errors import BadRequest, Conflict
from domain.iam.user import check_email
from infra.auth.ldap_directory import Directory, DirectoryError, check_settings
from infra.http.ldap_requests import LDAP, ldap_overrides, saved_directory
from infra.http.rest import caller

MAX_IMPORT = 100


@post(LDAP + "/ping", status_code=200)
async def ping_ldap(request: Request, data: JSONBody[Any] = None) -> dict:
    """Bind with the search account of the given settings (the saved ones for what is not
    given): {"success": true}, or false with the reason (unreachable, TLS, credentials)."""
    who = await caller(request)
    modes = who.registry.sign_in_modes
    saved = await anyio.to_thread.run_sync(modes.configuration.values)
    settings = await anyio.to_thread.run_sync(modes.ldap_settings, ldap_overrides(data, saved))
    check_settings(settings)
    try:
        await anyio.to_thread.run_sync(Directory(settings).ping)
    except DirectoryError as error:
        return {"success": False, "message": error.message}
    return {"success": True, "message": "connected to the LDAP server and bound as the search account"}


@post(LDAP + "/users/import", status_code=200)
async def import_ldap_users(request: Request, data: JSONBody[Any]) -> Response:
    """Create a Tidemark user for each uid the directory holds; 404 with Harbor's list of
    failures ({"uid", "error"}) when any uid was not imported."""
    who = await caller(request)
    uids = data.get("ldap_uid_list") if isinstance(data, dict) else None
    if not isinstance(uids, list) or not uids or not all(isinstance(u, str) for u in uids):
        raise BadRequest("ldap_uid_list must be a non-empty list of uids", {"field": "ldap_uid_list"})
    if len(uids) > MAX_IMPORT:
        raise BadRequest(f"ldap_uid_list holds at most {MAX_IMPORT} uids", {"field": "ldap_uid_list"})
    directory = await saved_directory(who)
    failures = []
    for uid in dict.fromkeys(uids):
        error = await anyio.to_thread.run_sync(_import_one, who, directory, uid)
        if error:
            failures.append({"uid": uid, "error": error})
    await anyio.to_thread.run_sync(who.registry.catch_up_reads)
    if failures:
        return Response(failures, status_code=404)
    return Response(None, status_code=200)


def _import_one(who, directory: Directory, uid: str) -> str:
    """"" when imported, else Harbor's reason code."""
    if not uid.strip():
        return "empty_uid"
    try:
        user = directory.find_user(uid)
    except DirectoryError:
        return "failed_search_user"
    if user is None or user.username != uid:
        return "unknown_user"
    try:
        email = check_email(user.email)
    except BadRequest:
        email = ""
    try:
        who.registry.iam.create_user(CreateUser(
            username=user.username, email=email, realname=user.realname[:255], comment="imported from LDAP",
            password=new_secret(), sysadmin=False, actor=who.actor))
    except Conflict:
        return "duplicate_user"
    except BadRequest:
        return "failed_insert_user"
    return ""


ROUTES = [ping_ldap, import_ldap_users]
