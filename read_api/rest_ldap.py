"""Harbor's LDAP searches: users (GET /ldap/users/search?username=) and groups
(GET /ldap/groups/search?groupname=&groupdn=), with the saved settings. System
administrators only. A directory that cannot answer is a 503 with the reason."""

import anyio.to_thread
from litestar import Request, get
from litestar.params import FromQuery

from infra.http.rest import caller
from infra.http.ldap_requests import LDAP, saved_directory

LDAP_GROUP = 1  # Harbor's group_type of an LDAP group


@get(LDAP + "/users/search")
async def search_ldap_users(request: Request, username: FromQuery[str | None] = None) -> list[dict]:
    who = await caller(request)
    directory = await saved_directory(who)
    users = await anyio.to_thread.run_sync(directory.search_users, username or None)
    return [{"username": u.username, "realname": u.realname, "email": u.email} for u in users]


@get(LDAP + "/groups/search")
async def search_ldap_groups(request: Request, groupname: FromQuery[str | None] = None,
                             groupdn: FromQuery[str | None] = None) -> list[dict]:
    who = await caller(request)
    directory = await saved_directory(who)
    groups = await anyio.to_thread.run_sync(directory.search_groups, groupname or None, groupdn or None)
    return [{"group_name": g.name, "group_type": LDAP_GROUP, "ldap_group_dn": g.dn} for g in groups]


ROUTES = [search_ldap_users, search_ldap_groups]
