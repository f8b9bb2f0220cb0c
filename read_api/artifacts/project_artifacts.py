"""GET /projects/{project_name_or_id}/artifacts: the artifacts of every repository of a
project, as Harbor lists them (same `q`, `sort`, paging and `with_*` flags as a repository's
list), with Harbor's `latest_in_repository`, and `at=` as everywhere."""

from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from infra.http.resources import project_for
from projections.artifact_lists import project as in_project
from read_api.artifacts.items import Include
from read_api.artifacts.artifacts import artifact_page


@get("/api/v2.0/projects/{project_name_or_id:str}/artifacts")
async def list_project_artifacts(
        request: Request, project_name_or_id: str = Parameter(), q: FromQuery[str | None] = None,
        sort: FromQuery[str | None] = None, page: FromQuery[int] = 1,
        page_size: FromQuery[int] = 10, with_tag: FromQuery[bool] = True,
        with_label: FromQuery[bool] = False, with_immutable_status: FromQuery[bool] = False,
        with_accessory: FromQuery[bool] = False, with_signature: FromQuery[bool] = False,
        with_scan_overview: FromQuery[bool] = False, with_sbom_overview: FromQuery[bool] = False,
        latest_in_repository: FromQuery[bool] = False, at: FromQuery[str | None] = None) -> Response:
    """`latest_in_repository=true` keeps the newest matching artifact of each repository; as in
    Harbor it applies only when `q` filters on `media_type` or `artifact_type`."""
    who, project = await project_for(request)
    include = Include(with_tag, with_label, with_immutable_status, with_accessory, with_signature,
                      with_scan_overview, with_sbom_overview)
    return await artifact_page(request, who, project, in_project(project.name), q, sort, page, page_size,
                               include, at, latest_in_repository)
