"""Which of Harbor's v2.0 operations Tidemark serves, and which served ones its OpenAPI leaves out.

    .venv/bin/python scripts/harbor_coverage.py [--swagger PATH] [--url http://HOST:PORT] [--json]

Harbor's operations come from its Swagger file (default: ../shared/reference/harbor-api-v2.0-swagger.yaml
beside the checkout); Tidemark's from its `/api/v2.0/openapi.json` (a running server with --url,
else an app built in-process on a scratch data directory) and from the app's route table (what it
serves). Paths are compared with their parameters' names blanked: `/projects/{project_name}` and
`/projects/{project_name_or_id}` are one operation. Exits 1 when a served /api/v2.0 operation is
missing from the OpenAPI document.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SWAGGER = REPO_ROOT.parent.parent / "shared" / "reference" / "harbor-api-v2.0-swagger.yaml"
API = "/api/v2.0"
METHODS = {"get", "put", "post", "delete", "patch", "head"}

Operation = tuple[str, str]  # (METHOD, path with blank parameters)


def shape(path: str) -> str:
    """`/projects/{project_name:str}/x` -> `/projects/{}/x` (names and converters dropped)."""
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/") or "/")


def harbor_operations(swagger_path: Path) -> dict[Operation, str]:
    """Harbor's operations (under /api/v2.0) to their operationId."""
    import yaml

    document = yaml.safe_load(swagger_path.read_text())
    base = document.get("basePath", API)
    return {(method.upper(), shape(base + path)): spec.get("operationId", "")
            for path, item in document["paths"].items()
            for method, spec in item.items() if method in METHODS}


def openapi_operations(document: dict) -> set[Operation]:
    return {(method.upper(), shape(path)) for path, item in document.get("paths", {}).items()
            for method in item if method in METHODS}


def served_operations(app) -> set[Operation]:
    """What the app routes under /api/v2.0: its own handlers, not Litestar's (the automatic
    OPTIONS answers and the OpenAPI document's own routes)."""
    served = set()
    for route in app.routes:
        path = getattr(route, "path_format", route.path)
        if not path.startswith(API):
            continue
        for handler in getattr(route, "route_handlers", ()):
            if getattr(handler.fn, "__module__", "").startswith("litestar"):
                continue
            served.update((method.upper(), shape(path)) for method in handler.http_methods
                          if method.lower() in METHODS)
    return served


@contextmanager
def built_app(data_dir: str) -> Iterator:
    """Tidemark's app on a scratch data directory, its registry closed afterwards."""
    from infra.settings import Settings
    from infra.wiring.app import create_app

    app = create_app(Settings(data_dir=data_dir, admin_password="Coverage-Passw0rd",
                              external_url="http://registry.test"))
    try:
        yield app
    finally:
        app.state.registry.close()


def app_openapi(app) -> dict:
    return app.openapi_schema.to_schema()


def fetch_openapi(url: str) -> dict:
    with urllib.request.urlopen(f"{url.rstrip('/')}{API}/openapi.json", timeout=30) as answer:
        return json.load(answer)


def report(harbor: dict[Operation, str], documented: set[Operation], served: set[Operation]) -> dict:
    return {
        "harbor_total": len(harbor),
        "served_harbor": sorted(f"{m} {p} ({harbor[(m, p)]})" for m, p in served & harbor.keys()),
        "not_served_harbor": sorted(f"{m} {p} ({harbor[(m, p)]})" for m, p in harbor.keys() - served),
        "served_beyond_harbor": sorted(f"{m} {p}" for m, p in served - harbor.keys()),
        "served_missing_from_openapi": sorted(f"{m} {p}" for m, p in served - documented),
        "served_harbor_missing_from_openapi": sorted(
            f"{m} {p} ({harbor[(m, p)]})" for m, p in (served & harbor.keys()) - documented),
        "documented_not_served": sorted(f"{m} {p}" for m, p in documented - served
                                        if p.startswith(API)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swagger", type=Path, default=DEFAULT_SWAGGER)
    parser.add_argument("--url", help="a running Tidemark to read the OpenAPI document from")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    with tempfile.TemporaryDirectory() as data_dir:
        with built_app(data_dir) as app:
            served = served_operations(app)
            documented = openapi_operations(fetch_openapi(args.url) if args.url else app_openapi(app))
    result = report(harbor_operations(args.swagger), documented, served)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"Harbor operations served: {len(result['served_harbor'])} of {result['harbor_total']}")
        for key in ("served_harbor", "not_served_harbor", "served_beyond_harbor",
                    "served_harbor_missing_from_openapi", "served_missing_from_openapi",
                    "documented_not_served"):
            print(f"\n{key.replace('_', ' ')} ({len(result[key])}):")
            for line in result[key]:
                print(f"  {line}")
    return 1 if result["served_missing_from_openapi"] else 0


if __name__ == "__main__":
    sys.exit(main())
