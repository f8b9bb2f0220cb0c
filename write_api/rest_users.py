"""Routes that change users: create, profile, password, CLI secret, admin flag, enable, delete."""

import anyio.to_thread
from litestar import Request, Response, delete, post, put
from litestar.params import JSONBody, Parameter

from commands.iam.messages import (
    ChangePassword, CreateUser, DeleteUser, SetCliSecret, SetSysadmin, SetUserEnabled, UpdateProfile,
)
from domain.errors import BadRequest
from infra.schemas.harbor import (
    OIDCCliSecretReq, PasswordReq, UserCreationReq, UserEnabled, UserProfile, UserSysAdminFlag,
)
from infra.http.rest import caller
from infra.http.resources import user_by_id


@post("/api/v2.0/users", status_code=201)
async def create_user(request: Request, data: JSONBody[UserCreationReq]) -> Response:
    who = await caller(request)
    created = await who.registry.run(who.registry.iam.create_user, CreateUser(
        data.username, data.email, data.realname, data.comment, data.password, False, who.actor))
    return Response(None, status_code=201,
                    headers={"Location": f"/api/v2.0/users/{created.position}"})


@put("/api/v2.0/users/{user_id:int}")
async def update_profile(request: Request, data: JSONBody[UserProfile], user_id: int = Parameter()) -> None:
    who = await caller(request)
    row = who.target
    await who.registry.run(who.registry.iam.update_profile, UpdateProfile(
        row.username, row.email if data.email is None else data.email,
        row.realname if data.realname is None else data.realname,
        row.comment if data.comment is None else data.comment, who.actor))


@put("/api/v2.0/users/{user_id:int}/password")
async def change_password(request: Request, data: JSONBody[PasswordReq], user_id: int = Parameter()) -> None:
    """Self-service needs the old password; a system administrator may reset anyone's."""
    who = await caller(request)
    row = who.target
    own = who.principal.kind == "user" and row.username == who.principal.name
    if own and not data.old_password:
        raise BadRequest("old_password is required", {"field": "old_password"})
    await who.registry.run(who.registry.iam.change_password, ChangePassword(
        row.username, data.old_password if own else None, data.new_password, who.actor))


@put("/api/v2.0/users/{user_id:int}/cli_secret")
async def set_cli_secret(request: Request, data: JSONBody[OIDCCliSecretReq], user_id: int = Parameter()) -> None:
    """The user's secret for CLI sign-in under OIDC (the user or an administrator). Harbor's
    412 when the auth mode is not OIDC or the user was not onboarded through it (ADR 0029, 0043)."""
    who = await caller(request)
    mode = await anyio.to_thread.run_sync(who.registry.configuration.value, "auth_mode")
    await who.registry.run(who.registry.iam.set_cli_secret,
                           SetCliSecret(who.target.username, data.secret, mode, who.actor))


@put("/api/v2.0/users/{user_id:int}/sysadmin")
async def set_sysadmin(request: Request, data: JSONBody[UserSysAdminFlag], user_id: int = Parameter()) -> None:
    who = await caller(request)
    row = await user_by_id(who.registry, user_id)
    if row.username == who.principal.name and not data.sysadmin_flag:
        raise BadRequest("administrators cannot revoke their own administrator role")
    await who.registry.run(who.registry.iam.set_sysadmin,
                           SetSysadmin(row.username, data.sysadmin_flag, who.actor))


@put("/api/v2.0/users/{user_id:int}/enabled")
async def set_enabled(request: Request, data: JSONBody[UserEnabled], user_id: int = Parameter()) -> None:
    """Tidemark addition: a disabled user loses all access at once, issued tokens included."""
    who = await caller(request)
    row = await user_by_id(who.registry, user_id)
    if row.username == who.principal.name:
        raise BadRequest("administrators cannot disable themselves")
    await who.registry.run(who.registry.iam.set_user_enabled,
                           SetUserEnabled(row.username, data.enabled, who.actor))


@delete("/api/v2.0/users/{user_id:int}", status_code=200)
async def delete_user(request: Request, user_id: int = Parameter()) -> None:
    who = await caller(request)
    row = await user_by_id(who.registry, user_id)
    if row.username == who.principal.name:
        raise BadRequest("administrators cannot delete themselves")
    await who.registry.run(who.registry.iam.delete_user, DeleteUser(row.username, who.actor))
