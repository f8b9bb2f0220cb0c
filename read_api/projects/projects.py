"""GET routes for projects and their members."""

from typing import Any

import anyio.to_thread
from litestar import Request, Response, get, head
from litestar.params import FromQuery, Parameter

from domain.errors import NotFound
from domain.iam.roles import ROLE_NAMES
from infra.schemas.harbor import CVEAllowlist, CVEAllowlistItem, Project, ProjectMemberEntity
from infra.http.listing import BOOL, EVERY, INT, TIME, Key, Listing
from infra.http.rest import caller
from infra.http.rest_guard import position_in_window
from projections.group_queries import GroupMemberRow
from projections.iam_queries import MemberRow


def allowlist_resp(row, settings) -> CVEAllowlist:
    """The project's CVE allowlist in Harbor's shape (an empty one, never expiring, if none
    was set); its id is the project's, as a project has one allowlist."""
    allowlist = settings.allowlist if settings is not None else None
    if allowlist is None:
        return CVEAllowlist(items=[], expires_at=None, id=0, project_id=row.project_id,
                            creation_time=row.created_at, update_time=row.created_at)
    return CVEAllowlist(items=[CVEAllowlistItem(cve_id=cve) for cve in allowlist["items"]],
                        expires_at=allowlist["expires_at"], id=row.project_id, project_id=row.project_id,
                        creation_time=allowlist["created"], update_time=allowlist["updated"])


def project_resp(row, principal, owner_id: int, settings=None, registry_id: int = 0) -> Project:
    """A project in Harbor's shape, with its metadata and allowlist from `settings`
    (projections/project_settings.py: now, or at a past moment); `registry_id`: the registry
    endpoint a proxy-cache project proxies."""
    roles = principal.project_roles(row.name) if principal.kind == "user" else []
    metadata = dict(settings.metadata) if settings is not None else {"public": "true" if row.public else "false"}
    return Project(project_id=row.project_id, owner_id=owner_id, name=row.name,
                   owner_name=row.created_by, creation_time=row.created_at,
                   update_time=settings.changed_at if settings is not None else row.created_at,
                   deleted=False, repo_count=row.repo_count, metadata=metadata,
                   current_user_role_id=principal.project_role(row.name) if roles else 0,
                   current_user_role_ids=roles,
                   registry_id=registry_id, cve_allowlist=allowlist_resp(row, settings))


async def project_metadata(who, row, position: int | None = None) -> tuple[Any, dict[str, str]]:
    """The project's settings (now or at a position) and its metadata with `retention_id`
    (shown now only: the retention policy owns it)."""
    settings = await anyio.to_thread.run_sync(who.registry.project_settings.of, row.name, position)
    metadata = dict(settings.metadata) if settings is not None else {"public": "true" if row.public else "false"}
    if position is None:
        retention = await anyio.to_thread.run_sync(who.registry.retention.policy_of, row.name)
        if retention is not None and retention.project_id == row.project_id:
            metadata["retention_id"] = str(retention.id)
    return settings, metadata


async def _owner_id(registry, username: FromQuery[str]) -> int:
    user = await anyio.to_thread.run_sync(registry.iam_queries.user, username)
    return user.user_id if user else 0


PROJECT_KEYS = Listing({"name": Key(), "project_id": Key(INT), "public": Key(BOOL, read=lambda p: p.metadata.get("public")),
                        "owner": Key(field="owner_name"), "owner_id": Key(INT), "repo_count": Key(INT),
                        "creation_time": Key(TIME), "update_time": Key(TIME)})


@get("/api/v2.0/projects")
async def list_projects(request: Request, q: FromQuery[str | None] = None, sort: FromQuery[str | None] = None,
                        page: FromQuery[int] = 1, page_size: FromQuery[int] = 10, name: FromQuery[str | None] = None,
                        public: FromQuery[bool | None] = None, owner: FromQuery[str | None] = None) -> Response:
    """Public projects and those the caller belongs to (every project for administrators);
    `name` is matched in part, `public` and `owner` exactly, `q=` as Harbor's query language."""
    who = await caller(request)
    principal = who.principal
    visible = None if principal.sysadmin else principal.member_projects()
    if principal.kind == "robot":
        visible = [g["namespace"] for g in principal.grants if g["kind"] == "project"]
        visible = None if "*" in visible else visible
    rows, _ = await anyio.to_thread.run_sync(who.registry.queries.projects, 0, EVERY, visible, name, public)
    if owner is not None:
        rows = [r for r in rows if r.created_by == owner]
    owners: dict[str, int] = {}
    for row in rows:
        if row.created_by not in owners:
            owners[row.created_by] = await _owner_id(who.registry, row.created_by)
    settings = await anyio.to_thread.run_sync(who.registry.project_settings.all_now, [r.name for r in rows])
    proxied = await anyio.to_thread.run_sync(who.registry.proxy.projects.registry_ids, [r.name for r in rows])
    items = [project_resp(r, principal, owners[r.created_by], settings.get(r.name), proxied.get(r.name, 0))
             for r in rows]
    return PROJECT_KEYS.answer(request, items, q, sort, page, page_size)


@head("/api/v2.0/projects")
async def project_exists(request: Request, project_name: FromQuery[str]) -> None:
    row = await anyio.to_thread.run_sync(request.app.state.registry.queries.project_by_key,
                                         project_name, True)
    if row is None:
        raise NotFound("project not found")


@get("/api/v2.0/projects/{project_name_or_id:str}")
async def get_project(request: Request, project_name_or_id: str = Parameter(),
                      at: FromQuery[str | None] = None) -> Project:
    """The project; with `at=` (a log position or an RFC 3339 time) its metadata and CVE
    allowlist as they were then (the rest is as now)."""
    who = await caller(request)
    row = who.project
    settings, metadata = await project_metadata(who, row, await position_in_window(who, at))
    if settings is None and at:
        raise NotFound("the project did not exist at that moment", {"at": str(at)[:64]})
    proxied = await anyio.to_thread.run_sync(who.registry.proxy.projects.of, row.name)
    body = project_resp(row, who.principal, await _owner_id(who.registry, row.created_by), settings,
                        proxied.registry_id if proxied else 0)
    body.metadata = metadata
    return body


def member_resp(row, project_id: int) -> ProjectMemberEntity:
    """A member in Harbor's shape: a user (`entity_type` u) or a user group (g, ADR 0041)."""
    if isinstance(row, GroupMemberRow):
        return ProjectMemberEntity(id=row.member_id, project_id=project_id, entity_name=row.group_name,
                                   role_name=ROLE_NAMES[row.role], role_id=row.role, entity_id=row.group_id,
                                   entity_type="g")
    return ProjectMemberEntity(id=row.member_id, project_id=project_id, entity_name=row.username,
                               role_name=ROLE_NAMES[row.role], role_id=row.role, entity_id=row.user_id)


def all_members(registry, project: str, entityname: str | None = None) -> list:
    """The project's members, users and groups, by member id."""
    users, _ = registry.iam_queries.members(project, 0, EVERY, entityname)
    groups = registry.group_queries.members(project, entityname)
    return sorted([*users, *groups], key=lambda row: row.member_id)


MEMBER_KEYS = Listing({"entity_name": Key(), "entityname": Key(field="entity_name"), "id": Key(INT),
                       "entity_id": Key(INT), "entity_type": Key(), "role_id": Key(INT), "role_name": Key()})


def members_at(registry, project: str, position: int, entityname: str | None = None) -> list:
    """The project's members, users and groups, as they were at a log position (users with
    their id now, 0 when gone; groups with the name they had when they were added)."""
    rows = []
    for period in registry.member_periods.at(project, position):
        if entityname and entityname.lower() not in period.name.lower():
            continue
        if period.kind == "g":
            rows.append(GroupMemberRow(project, int(period.member), period.name, period.member_id, period.role))
        else:
            user = registry.iam_queries.user(period.member)
            rows.append(MemberRow(project, period.member, period.member_id, period.role, user.user_id if user else 0))
    return rows


@get("/api/v2.0/projects/{project_name_or_id:str}/members")
async def list_members(request: Request, project_name_or_id: str = Parameter(), page: FromQuery[int] = 1,
                       page_size: FromQuery[int] = 10, entityname: FromQuery[str | None] = None,
                       q: FromQuery[str | None] = None, sort: FromQuery[str | None] = None,
                       at: FromQuery[str | None] = None) -> Response:
    """The project's members; with `at=` (a log position or an RFC 3339 time) as they were then."""
    who = await caller(request)
    project = who.project
    position = await position_in_window(who, at)
    if position is not None:
        rows = await anyio.to_thread.run_sync(members_at, who.registry, project.name, position, entityname)
        return MEMBER_KEYS.answer(request, [member_resp(r, project.project_id) for r in rows], q, sort,
                                  page, page_size)
    rows = await anyio.to_thread.run_sync(all_members, who.registry, project.name, entityname)
    return MEMBER_KEYS.answer(request, [member_resp(r, project.project_id) for r in rows], q, sort,
                              page, page_size)


@get("/api/v2.0/projects/{project_name_or_id:str}/members/{mid:int}")
async def get_member(request: Request, project_name_or_id: str = Parameter(),
                     mid: int = Parameter()) -> ProjectMemberEntity:
    who = await caller(request)
    project = who.project
    row = await anyio.to_thread.run_sync(who.registry.iam_queries.member_by_id, project.name, mid)
    if row is None:
        row = await anyio.to_thread.run_sync(who.registry.group_queries.member_by_id, project.name, mid)
    if row is None:
        raise NotFound("member not found", {"mid": mid})
    return member_resp(row, project.project_id)
