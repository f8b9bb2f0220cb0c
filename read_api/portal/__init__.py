"""The web portal (ADR 0040): one HTML page at `/`, the portal's own ES modules and styles under
`/portal/`, and the few front-end files it takes from npm (installed by `make install` into
read_api/portal/node_modules, pinned by package-lock.json) under `/portal/vendor/`.

Everything the portal shows comes from the public REST API, called by the browser with the
session cookie of `/c/login`: there is no portal-only route. The page is served with a strict
Content-Security-Policy: scripts from this origin only (plus the import map, by its hash), no
inline script or style, no framing.
"""

import base64
import hashlib
from pathlib import Path

from litestar import Response, get
from litestar.params import Parameter

from domain.errors import NotFound

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
MODULES = HERE / "node_modules"
# What /portal/vendor/ serves: a fixed list, never a path the request names.
VENDOR = {
    "preact.js": MODULES / "preact/dist/preact.module.js",
    "hooks.js": MODULES / "preact/hooks/dist/hooks.module.js",
    "htm.js": MODULES / "htm/dist/htm.module.js",
}
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}  # Litestar adds the charset
IMPORT_MAP = ('{"imports": {"preact": "/portal/vendor/preact.js", "preact/hooks": "/portal/vendor/hooks.js", '
              '"htm": "/portal/vendor/htm.js"}}')
_MAP_HASH = base64.b64encode(hashlib.sha256(IMPORT_MAP.encode()).digest()).decode()
CSP = ("default-src 'none'; script-src 'self' 'sha256-" + _MAP_HASH + "'; style-src 'self'; "
       "img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tidemark</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/portal/style.css">
<script type="importmap">""" + IMPORT_MAP + """</script>
<script type="module" src="/portal/app.js"></script>
</head>
<body>
<noscript>The Tidemark portal needs JavaScript; the REST API at /api/v2.0 works without it.</noscript>
<div id="app"></div>
</body>
</html>
"""


def _file(path: Path) -> Response:
    if not path.is_file():
        raise NotFound("no such portal file", {"file": path.name[:100]})
    return Response(path.read_bytes(), media_type=TYPES.get(path.suffix, "application/octet-stream"),
                    headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


@get("/", media_type="text/html", sync_to_thread=False)
def portal_page() -> Response:
    return Response(PAGE, media_type="text/html",
                    headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


@get("/portal/{name:str}", sync_to_thread=True)
def portal_file(name: str = Parameter()) -> Response:
    """The portal's own files: a plain file name of static/ (no directories)."""
    if "/" in name or "\\" in name or name.startswith(".") or Path(name).suffix not in TYPES:
        raise NotFound("no such portal file", {"file": name[:100]})
    return _file(STATIC / name)


@get("/portal/vendor/{name:str}", sync_to_thread=True)
def vendor_file(name: str = Parameter()) -> Response:
    path = VENDOR.get(name)
    if path is None:
        raise NotFound("no such portal file", {"file": name[:100]})
    return _file(path)


ROUTES = [portal_page, portal_file, vendor_file]
