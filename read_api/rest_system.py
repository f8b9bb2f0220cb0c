"""System information, statistics and search."""

from datetime import datetime, timezone

import anyio.to_thread
from litestar import Request, get
from litestar.params import FromQuery

from domain.iam.access import sees_project
from infra.http.rest import caller

# Semver-shaped, as clients compare it: the Harbor API release whose definition Tidemark follows
# (../shared/reference, Harbor 2.13's), and Tidemark's own version as build metadata.
VERSION = "v2.13.0+tidemark.0.1.0"


@get("/api/v2.0/systeminfo/volumes")
async def system_volumes(request: Request) -> dict:
    """Total and free bytes of the volume the blobs are on (Harbor's local-disk answer). An S3
    bucket has neither: the list is empty there rather than a made-up size."""
    capacity = await anyio.to_thread.run_sync(request.app.state.registry.blobs.capacity)
    return {"storage": [] if capacity is None else [{"total": capacity[0], "free": capacity[1]}]}


@get("/api/v2.0/systeminfo")
async def system_info(request: Request) -> dict:
    """What clients read before they act: version, URLs, and the configuration keys Harbor
    shows here (`/configurations`, so a change shows at once)."""
    registry = request.app.state.registry
    external = registry.external_url
    config = await anyio.to_thread.run_sync(registry.configuration.values)
    return {"auth_mode": config["auth_mode"], "primary_auth_mode": bool(config["primary_auth_mode"]),
            "self_registration": bool(config["self_registration"]),
            "harbor_version": VERSION, "registry_url": external.split("://", 1)[-1],
            "external_url": external, "has_ca_root": False, "read_only": bool(config["read_only"]),
            "notification_enable": bool(config["notification_enable"]),
            "banner_message": config["banner_message"],
            "project_creation_restriction": config["project_creation_restriction"],
            "registry_storage_provider_name": registry.settings.resolved_storage_url.split(":", 1)[0],
            "current_time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            # Harbor's: the portal's "Sign in with <name>" button (ADR 0043)
            **({"oidc_provider_name": config["oidc_name"] or "OIDC"}
               if config["auth_mode"] == "oidc_auth" and config["oidc_endpoint"] else {})}


def _statistics(registry, principal) -> dict:
    projects, _ = registry.queries.projects(0, 1_000_000, None)
    visible = [p for p in projects if sees_project(principal, p.name, p.public)]
    public = [p for p in visible if p.public]
    private = [p for p in visible if not p.public]
    quotas = registry.policies.quotas()
    return {"public_project_count": len(public), "private_project_count": len(private),
            "total_project_count": len(visible),
            "public_repo_count": sum(p.repo_count for p in public),
            "private_repo_count": sum(p.repo_count for p in private),
            "total_repo_count": sum(p.repo_count for p in visible),
            "total_storage_consumption": sum(row[2] for name, row in quotas.items()
                                             if any(p.name == name for p in visible))}


@get("/api/v2.0/statistics")
async def statistics(request: Request) -> dict:
    """Counts of what the caller may see (everything, for administrators)."""
    who = await caller(request)
    return await anyio.to_thread.run_sync(_statistics, who.registry, who.principal)


def _search(registry, principal, q: str) -> dict:
    projects, _ = registry.queries.projects(0, 1_000_000, None)
    visible = {p.name: p for p in projects if sees_project(principal, p.name, p.public)}
    names = registry.queries.repositories(None, None, set(visible))
    repositories = []
    for name in names:
        if q in name:
            project = visible[name.split("/", 1)[0]]
            artifacts, total = registry.history.artifacts(name, 0, 1, None)
            repositories.append({"project_id": project.project_id, "project_name": project.name,
                                 "project_public": project.public, "repository_name": name,
                                 "artifact_count": total, "pull_count": 0})
    return {"project": [{"project_id": p.project_id, "name": p.name, "repo_count": p.repo_count,
                         "metadata": {"public": "true" if p.public else "false"}}
                        for p in visible.values() if q in p.name],
            "repository": repositories}


@get("/api/v2.0/search")
async def search(request: Request, q: FromQuery[str] = "") -> dict:
    """Projects and repositories whose names contain `q`, among those the caller may see."""
    who = await caller(request)
    return await anyio.to_thread.run_sync(_search, who.registry, who.principal, q)
