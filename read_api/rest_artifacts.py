"""GET routes for repositories, artifacts and tags, now or `at=` any past moment."""

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from domain.errors import NotFound
from domain.artifacts.manifest_format import HELM_CONFIG, INDEX_TYPES
from infra.schemas.harbor import Artifact, Repository, Tag, TagHistoryEntry
from infra.http.listing import INT, TIME, Key, Listing
from infra.http.rest import paged, paging
from infra.http.resources import find_artifact, full_repository_name, project_for
from infra.http.rest_guard import history_window, position_in_window
from read_api.rest_icons import icon_for

NEVER = "0001-01-01T00:00:00.000Z"


def tag_resp(row, repository_id: int, artifact_id: int) -> Tag:
    return Tag(id=row.id, repository_id=repository_id, artifact_id=artifact_id, name=row.name,
               push_time=row.moved_at, pull_time=NEVER)


def _label(row) -> dict:
    return {"id": row.id, "name": row.name, "description": row.description, "color": row.color,
            "scope": row.scope, "creation_time": row.creation_time, "update_time": row.update_time}


def artifact_resp(row, project_id: int, repository_id: int, tags: list | None,
                  labels: list | None = None) -> Artifact:
    kind = "IMAGE" if row.media_type not in INDEX_TYPES else "IMAGE_INDEX"
    if row.artifact_type and "image" not in row.artifact_type and row.media_type not in INDEX_TYPES:
        kind = row.artifact_type.rsplit(".", 1)[-1].upper()[:32]
    if row.artifact_type == HELM_CONFIG:
        kind = "CHART"
    return Artifact(id=row.id, type=kind, media_type=row.artifact_type or row.media_type,
                    manifest_media_type=row.media_type, artifact_type=row.artifact_type,
                    icon=icon_for(kind, row.artifact_type),
                    project_id=project_id, repository_id=repository_id,
                    repository_name=row.repository, digest=row.digest, size=row.size,
                    push_time=row.pushed_at, pull_time=NEVER, annotations=row.annotations,
                    references=[{"parent_id": row.id, "child_digest": child} for child in row.children],
                    tags=tags, labels=[_label(label) for label in labels or []])


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



@get("/api/v2.0/projects/{project_name:str}/repositories/{repository_name:str}/artifacts")
async def list_artifacts(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                         page: FromQuery[int] = 1, page_size: FromQuery[int] = 10,
                         with_tag: FromQuery[bool] = True, at: FromQuery[str | None] = None) -> Response:
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    position = await position_in_window(who, at)
    offset, limit = paging(page, page_size)
    history = who.registry.history
    rows, total = await anyio.to_thread.run_sync(history.artifacts, name, offset, limit, position)
    repo = await anyio.to_thread.run_sync(history.repository, name, position)
    repo_id = repo.id if repo else 0
    digests = [r.digest for r in rows]
    tags = await anyio.to_thread.run_sync(history.tags, name, digests, position) if with_tag else []
    labels = await anyio.to_thread.run_sync(who.registry.labels.of_artifacts, name, digests, position)
    items = [artifact_resp(r, project.project_id, repo_id,
                           [tag_resp(t, repo_id, r.id) for t in tags if t.digest == r.digest] if with_tag else None,
                           labels.get(r.digest))
             for r in rows]
    return paged(request, items, total, page, page_size)


@get("/api/v2.0/projects/{project_name:str}/repositories/{repository_name:str}/artifacts/{reference:str}")
async def get_artifact(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                       reference: str = Parameter(), at: FromQuery[str | None] = None) -> Artifact:
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    position = await position_in_window(who, at)
    row = await find_artifact(who.registry, name, reference, position)
    repo = await anyio.to_thread.run_sync(who.registry.history.repository, name, position)
    tags = await anyio.to_thread.run_sync(who.registry.history.tags, name, [row.digest], position)
    repo_id = repo.id if repo else 0
    labels = await anyio.to_thread.run_sync(who.registry.labels.of_artifacts, name, [row.digest], position)
    return artifact_resp(row, project.project_id, repo_id, [tag_resp(t, repo_id, row.id) for t in tags],
                         labels.get(row.digest))


@get("/api/v2.0/projects/{project_name:str}/repositories/{repository_name:str}/artifacts/{reference:str}/tags")
async def list_tags(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                    reference: str = Parameter(), at: FromQuery[str | None] = None) -> list[Tag]:
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    position = await position_in_window(who, at)
    row = await find_artifact(who.registry, name, reference, position)
    tags = await anyio.to_thread.run_sync(who.registry.history.tags, name, [row.digest], position)
    return [tag_resp(t, 0, row.id) for t in tags]


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
