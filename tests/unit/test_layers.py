"""What may import what (docs/architecture.md): checked on the source, import by import."""

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("domain", "commands", "projections", "read_api", "write_api", "workers", "infra")


def _room(module: str) -> str:
    """The layer of a module, and for infra its room: `infra.http`, `infra.wiring`, ..."""
    parts = module.split(".")
    if parts[0] == "infra" and len(parts) > 2:
        return ".".join(parts[:2])
    return parts[0]


@cache
def _imports() -> list[tuple[str, str]]:
    """(importing module, imported module) for every import of a Tidemark module."""
    found = []
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
                found += [(module, name) for name in names if name.split(".")[0] in LAYERS]
    return found


# (importer room, imported room) pairs that must not occur
FORBIDDEN = [
    *[("domain", other) for other in LAYERS if other != "domain"],
    ("write_api", "read_api"), ("read_api", "write_api"), ("read_api", "commands"),
    *[(api, other) for api in ("read_api", "write_api") for other in ("workers", "infra.wiring")],
    *[(layer, api) for layer in ("commands", "projections", "workers") for api in ("read_api", "write_api")],
    *[(layer, "infra.wiring") for layer in ("commands", "projections", "workers")],
    *[(room, other) for room in ("infra.http", "infra.auth", "infra.store", "infra.storage",
                                 "infra.messaging", "infra.schemas")
      for other in ("infra.wiring", "read_api", "write_api", "commands", "workers")],
]


def _breaks(importer: str, imported: str, rule: tuple[str, str]) -> bool:
    def within(module: str, room: str) -> bool:
        return module == room or module.startswith(room + ".")
    return within(importer, rule[0]) and within(imported, rule[1])


def test_the_scan_finds_the_imports_it_judges():
    pairs = _imports()
    assert ("write_api.oci_write", "infra.http.lookups") in pairs
    assert _breaks("read_api.x", "write_api.y", ("read_api", "write_api"))


@pytest.mark.parametrize("rule", FORBIDDEN, ids="{0[0]} -/-> {0[1]}".format)
def test_no_import_crosses_a_forbidden_line(rule):
    crossing = sorted({f"{a} imports {b}" for a, b in _imports() if _breaks(a, b, rule)})
    assert not crossing, crossing
