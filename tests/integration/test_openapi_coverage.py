"""Every operation Tidemark serves under /api/v2.0 is in its OpenAPI document (issue 13).

Uses scripts/harbor_coverage.py, the tool that also counts which Harbor operations are served.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from litestar import Litestar, get

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "harbor_coverage.py"
_spec = importlib.util.spec_from_file_location("harbor_coverage", SCRIPT)
coverage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(coverage)


def test_every_served_operation_is_in_the_openapi_document(tmp_path: Path) -> None:
    with coverage.built_app(str(tmp_path / "data")) as app:
        served = coverage.served_operations(app)
        documented = coverage.openapi_operations(coverage.app_openapi(app))
    assert ("GET", "/api/v2.0/projects/{}/repositories/{}/artifacts/{}") in served
    assert sorted(served - documented) == []
    assert sorted(op for op in documented - served if op[1].startswith("/api/v2.0")) == []


def test_a_route_left_out_of_the_schema_is_reported() -> None:
    @get("/api/v2.0/shown", sync_to_thread=False)
    def shown() -> str:
        return "shown"

    @get("/api/v2.0/hidden", include_in_schema=False, sync_to_thread=False)
    def hidden() -> str:
        return "hidden"

    app = Litestar([shown, hidden], logging_config=None)
    missing = coverage.served_operations(app) - coverage.openapi_operations(coverage.app_openapi(app))
    assert missing == {("GET", "/api/v2.0/hidden")}


def test_harbor_paths_compare_without_parameter_names() -> None:
    assert coverage.shape("/api/v2.0/projects/{project_name_or_id}/") == "/api/v2.0/projects/{}"
    assert coverage.shape("/api/v2.0/users/{user_id:int}") == "/api/v2.0/users/{}"
