"""GET routes for repositories, artifacts and tags, now or `at=` any past moment."""

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from domain.errors import NotFound
from infra.schemas.harbor import Artifact, Repository, TagHistoryEntry
from infra.http.listing import INT, TIME, Key, Listing
from infra.http.rest import paged, paging
from infra.http.resources import find_artifact, full_repository_name, project_for
from infra.http.rest_guard import history_window, position_in_window
from projections.artifact_lists import repository
from read_api.artifacts.items import Include, artifact_items, immutable_test, tag_resp


def repository_resp(row, project_id: int) -> Repository:
    return Repository(id=row.id, project_id=project_id, name=row.name, description=row.description,
                      artifact_count=row.artifact_count, pull_count=0,
                      creation_time=row.created_at, update_time=row.updated_at)


REPOSITORY_KEYS = Listing({"name": Key(), "id": Key(INT), "description": Key(), "artifact_count": Key(INT),
                           "pull_count": Key(INT), "creation_time": Key(TIME), "update_time": Key(TIME)})


@get("/api/v2.0/projects/{project_name:str}/repositories")
async def list_repositories(request: Request, project_name: str = Parameter(), page: FromQuery[int] = 1,
                            page_size: FromQuery[int] = 10, q: FromQuery[str | None] = None,
                            sort: FromQuery[str | None] = None, at: FromQuery[str | None] = None) -> Response:
    who, project = await project_for(request)
    position = await position_in_window(who, at)

    def rows(offset: int, limit: int):
        return who.registry.history.repositories(project.name, offset, limit, None, position)
    return await REPOSITORY_KEYS.answer_rows(request, rows, lambda r: repository_resp(r, project.project_id),
                                             q, sort, page, page_size)


@get("/api/v2.0/projects/{project_name:str}/repositories/{repository_name:str}")
async def get_repository(request: Request, project_name: str = Parameter(),
                         repository_name: str = Parameter(), at: FromQuery[str | None] = None) -> Repository:
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    row = await anyio.to_thread.run_sync(who.registry.history.repository, name,
                                         await position_in_window(who, at))
    if row is None:
        raise NotFound("repository not found", {"repository": name})
    return repository_resp(row, project.project_id)


async def artifact_page(request: Request, who, project, scope, q, sort, page, page_size, include: Include,
                        at: str | None, latest_in_repository: bool = False) -> Response:
    """One page of the artifacts in `scope` (a repository or a project) as Harbor lists them."""
    position = await position_in_window(who, at)
    offset, limit = paging(page, page_size)
    registry = who.registry
    pairs, total = await anyio.to_thread.run_sync(registry.artifact_lists.artifacts, scope, q, sort, offset,
                                                  limit, position, latest_in_repository)
    items = await anyio.to_thread.run_sync(artifact_items, registry, project.name, project.project_id, pairs,
                                           include, position)
    return paged(request, items, total, page, page_size)


@get("/api/v2.0/projects/{project_name:str}/repositories/{repository_name:str}/artifacts")
async def list_artifacts(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                         q: FromQuery[str | None] = None, sort: FromQuery[str | None] = None,
                         page: FromQuery[int] = 1, page_size: FromQuery[int] = 10,
                         with_tag: FromQuery[bool] = True, with_label: FromQuery[bool] = False,
                         with_immutable_status: FromQuery[bool] = False, with_accessory: FromQuery[bool] = False,
                         with_signature: FromQuery[bool] = False, with_scan_overview: FromQuery[bool] = False,
                         with_sbom_overview: FromQuery[bool] = False,
                         at: FromQuery[str | None] = None) -> Response:
    """Harbor's artifact list, with `q`, `sort`, paging and the `with_*` flags (read_api/artifacts/items.py)."""
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    include = Include(with_tag, with_label, with_immutable_status, with_accessory, with_signature,
                      with_scan_overview, with_sbom_overview)
    return await artifact_page(request, who, project, repository(name), q, sort, page, page_size, include, at)


@get("/api/v2.0/projects/{project_name:str}/repositories/{repository_name:str}/artifacts/{reference:str}")
async def get_artifact(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                       reference: str = Parameter(), with_tag: FromQuery[bool] = True,
                       with_label: FromQuery[bool] = False, with_immutable_status: FromQuery[bool] = False,
                       with_accessory: FromQuery[bool] = False, with_signature: FromQuery[bool] = False,
                       with_scan_overview: FromQuery[bool] = False, with_sbom_overview: FromQuery[bool] = False,
                       at: FromQuery[str | None] = None) -> Artifact:
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    position = await position_in_window(who, at)
    row = await find_artifact(who.registry, name, reference, position)
    pulled = await anyio.to_thread.run_sync(who.registry.artifact_lists.pulled_at, name, row.digest)
    include = Include(with_tag, with_label, with_immutable_status, with_accessory, with_signature,
                      with_scan_overview, with_sbom_overview)
    items = await anyio.to_thread.run_sync(artifact_items, who.registry, project.name, project.project_id,
                                           [(row, pulled)], include, position)
    return items[0]


@get("/api/v2.0/projects/{project_name:str}/repositories/{repository_name:str}/artifacts/{reference:str}/tags")
async def list_tags(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                    reference: str = Parameter(), q: FromQuery[str | None] = None,
                    sort: FromQuery[str | None] = None, page: FromQuery[int] = 1,
                    page_size: FromQuery[int] = 10, with_immutable_status: FromQuery[bool] = False,
                    at: FromQuery[str | None] = None) -> Response:
    """An artifact's tags: `q` (name, push_time), `sort` (name, push_time, id), paging."""
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    position = await position_in_window(who, at)
    offset, limit = paging(page, page_size)
    row = await find_artifact(who.registry, name, reference, position)
    registry = who.registry
    tags, total = await anyio.to_thread.run_sync(registry.artifact_lists.tags, name, row.digest, q, sort,
                                                 offset, limit, position)
    ids = await anyio.to_thread.run_sync(registry.artifact_lists.repository_ids, [name])
    immutable = (await anyio.to_thread.run_sync(immutable_test, registry, project.name)
                 if with_immutable_status else None)
    items = [tag_resp(t, ids.get(name, 0), row.id, bool(immutable and immutable(name, t.name))) for t in tags]
    return paged(request, items, total, page, page_size)


@get("/api/v2.0/projects/{project_name:str}/repositories/{repository_name:str}/tags/{tag:str}/history")
async def tag_history(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                      tag: str = Parameter()) -> list[TagHistoryEntry]:
    """Tidemark addition: every digest the tag pointed to, from when to when, moved by whom."""
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    window = await history_window(who)
    rows = [r for r in await anyio.to_thread.run_sync(who.registry.history.tag_history, name, tag)
            if window.overlaps(r.id, r.until_position)]
    if not rows:
        raise NotFound("tag never existed", {"tag": tag[:128]})
    return [TagHistoryEntry(digest=r.digest, from_time=r.moved_at, from_position=r.id, to_time=r.until,
                            to_position=r.until_position, moved_by=r.moved_by) for r in rows]
