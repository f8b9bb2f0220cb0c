"""A project's summary and whether it may be deleted, as Harbor's portal and CLI ask for them."""

import anyio.to_thread
from litestar import Request, get
from litestar.params import Parameter

from domain.iam.access import allows
from domain.iam.roles import DEVELOPER, GUEST, LIMITED_GUEST, MAINTAINER, PROJECT_ADMIN
from infra.http.rest import caller
from read_api.projects.projects import all_members

MEMBER_COUNTS = {PROJECT_ADMIN: "project_admin_count", MAINTAINER: "maintainer_count",
                 DEVELOPER: "developer_count", GUEST: "guest_count", LIMITED_GUEST: "limited_guest_count"}


@get("/api/v2.0/projects/{project_name_or_id:str}/summary")
async def project_summary(request: Request, project_name_or_id: str = Parameter()) -> dict:
    """Repository count; member counts and quota only for callers who may see members and quota."""
    who = await caller(request)
    project = who.project
    summary: dict = {"repo_count": project.repo_count}
    if allows(who.principal, project.name, project.public, "member", "list"):
        members = await anyio.to_thread.run_sync(all_members, who.registry, project.name)
        for role, field in MEMBER_COUNTS.items():
            summary[field] = sum(1 for m in members if m.role == role)
    if allows(who.principal, project.name, project.public, "quota", "read"):
        quota = await anyio.to_thread.run_sync(who.registry.policies.quota, project.name)
        hard, used = (quota[1], quota[2]) if quota else (-1, 0)
        summary["quota"] = {"hard": {"storage": hard}, "used": {"storage": used}}
    return summary


@get("/api/v2.0/projects/{project_name_or_id:str}/_deletable")
async def project_deletable(request: Request, project_name_or_id: str = Parameter()) -> dict:
    """Deletable unless it still holds repositories (the same rule DELETE applies)."""
    who = await caller(request)
    project = who.project
    if project.repo_count:
        return {"deletable": False,
                "message": f"the project still holds repositories ({project.repo_count}); delete them first"}
    return {"deletable": True, "message": ""}
