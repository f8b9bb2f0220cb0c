"""The Pluggable Scanner Adapter API v1.2 over HTTP (the shapes of
shared/reference/scanner-adapter-openapi-v1.2.yaml), plus two unauthenticated probes.

- `GET /api/v1/metadata`: who the scanner is, its capabilities, when its database was
  last imported.
- `POST /api/v1/scan`: 202 `{"id"}`; 400 for a body that is no ScanRequest, 422 for a field
  the scanner cannot use, 503 while too many scans wait.
- `GET /api/v1/tidemark/affected?after=N` (beyond the adapter API): what re-matches after
  database imports found in images scanned before, in order.
- `GET /api/v1/scan/{id}/report`: 302 + `Refresh-After` while the scan runs, 200 with the
  report the Accept header names, 500 with the reason for a scan that failed, 404 for an id
  the scanner does not know (never had, or forgot after `report_ttl_seconds`).
Errors are `{"error": {"message"}}` as `application/vnd.scanner.adapter.error+json; version=1.0`.
"""

import base64
import hmac

import msgspec
from litestar import Litestar, Request, Response, get, post
from litestar.exceptions import HTTPException

from domain.scanning.reports import (
    SBOM_FORMATS, SBOM_REPORT, VULN_REPORT_1_1, VULN_REPORTS, error, metadata, normalize_media_type,
)
from infra.scanner.inventories import MAX_PAGE, InventoryStore
from infra.scanner.jobs import Busy, JobTable
from infra.scanner.requests import BadScanRequest, InvalidScanField, parse_scan_request
from infra.scanner.scan_run import NAME, VENDOR, version
from infra.scanner.settings import ScannerSettings
from infra.scanner.vulndb import VulnDb

ERROR_TYPE = "application/vnd.scanner.adapter.error+json; version=1.0"
METADATA_TYPE = "application/vnd.scanner.adapter.metadata+json; version=1.1"
SCAN_RESPONSE_TYPE = "application/vnd.scanner.adapter.scan.response+json; version=1.0"
MAX_BODY = 1024 * 1024


def _json(body: object, status: int, media_type: str, headers: dict | None = None) -> Response:
    return Response(content=msgspec.json.encode(body), status_code=status, media_type=media_type,
                    headers=headers or {})


def _error(message: str, status: int, headers: dict | None = None) -> Response:
    return _json(error(message), status, ERROR_TYPE, headers)


class Credentials:
    """The API token the adapter asks of its callers, when one is set."""

    def __init__(self, token: str) -> None:
        self.token = token

    def accepts(self, request: Request) -> bool:
        if not self.token:
            return True
        offered = [request.headers.get("x-scanneradapter-api-key", "")]
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            offered.append(value.strip())
        elif scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                decoded = ""
            offered += [decoded, decoded.partition(":")[2]]
        return any(o and hmac.compare_digest(o.encode(), self.token.encode()) for o in offered)


def _wanted_type(accept: str, capabilities: set[str]) -> str | None:
    """The report type an Accept header names (the scan's own kind when it names none)."""
    offered = [normalize_media_type(part) for part in accept.split(",") if part.strip()]
    known = {normalize_media_type(m): m for m in (*VULN_REPORTS, SBOM_REPORT)}
    for mime in offered:
        if mime in known:
            return known[mime]
    if not offered or any(m in ("*/*", "application/json") for m in offered):
        return VULN_REPORT_1_1 if "vulnerability" in capabilities else SBOM_REPORT
    return None


def create_scanner_app(settings: ScannerSettings, database: VulnDb, jobs: JobTable,
                       inventories: InventoryStore | None = None) -> Litestar:
    credentials = Credentials(settings.token)

    def denied(request: Request) -> Response | None:
        if credentials.accepts(request):
            return None
        return _error("the scanner API needs its token (Authorization: Bearer ...)", 401,
                      {"WWW-Authenticate": 'Bearer realm="tidemark-scanner"'})

    @get("/api/v1/metadata", sync_to_thread=True)
    def get_metadata(request: Request) -> Response:
        refused = denied(request)
        if refused is not None:
            return refused
        return _json(metadata(NAME, VENDOR, version(), database.updated_at()), 200, METADATA_TYPE)

    @post("/api/v1/scan", sync_to_thread=True)
    def accept_scan(request: Request, body: bytes) -> Response:
        refused = denied(request)
        if refused is not None:
            return refused
        if len(body) > MAX_BODY:
            return _error(f"a scan request may have at most {MAX_BODY} bytes", 400)
        try:
            scan = parse_scan_request(body)
        except BadScanRequest as problem:
            return _error(str(problem), 400)
        except InvalidScanField as problem:
            return _error(str(problem), 422)
        try:
            job = jobs.submit(scan)
        except Busy as busy:
            return _error(str(busy), 503, {"Retry-After": "30"})
        return _json({"id": job.id}, 202, SCAN_RESPONSE_TYPE)

    @get("/api/v1/scan/{scan_request_id:str}/report", sync_to_thread=True)
    def get_report(request: Request, scan_request_id: str) -> Response:
        refused = denied(request)
        if refused is not None:
            return refused
        job = jobs.get(scan_request_id)
        if job is None:
            return _error(f"no scan {scan_request_id[:64]!r} (unknown, or its report was already dropped)", 404)
        wanted = _wanted_type(request.headers.get("accept", ""), job.request.capabilities())
        if wanted is None:
            return _error(f"the scanner makes no report of type {request.headers.get('accept', '')[:200]!r}", 501)
        kind = "sbom" if wanted == SBOM_REPORT else "vulnerability"
        sbom_type = request.query_params.get("sbom_media_type")
        if kind == "sbom" and sbom_type not in SBOM_FORMATS:
            return _error(f"an SBOM report needs ?sbom_media_type= one of {', '.join(SBOM_FORMATS)}", 400)
        if kind not in job.request.capabilities():
            return _error(f"this scan was not asked for a {kind} report", 400)
        if job.status in ("queued", "running"):
            return Response(content=b"", status_code=302,
                            headers={"Refresh-After": str(settings.refresh_after_seconds)})
        if job.status == "failed":
            return _error(f"the scan failed: {job.error}", 500)
        report = job.result.sbom_report(sbom_type) if kind == "sbom" else job.result.vulnerability_report()
        return _json(report, 200, wanted)

    @get("/api/v1/tidemark/affected", sync_to_thread=True)
    def get_affected(request: Request) -> Response:
        """Beyond the adapter API: what re-matches after imports found in scanned images,
        in order; `after` is the last sequence the caller has read."""
        refused = denied(request)
        if refused is not None:
            return refused
        try:
            after = int(request.query_params.get("after", "0"))
            limit = int(request.query_params.get("limit", str(MAX_PAGE)))
        except ValueError:
            return _error("after and limit must be whole numbers", 400)
        if after < 0 or limit < 1:
            return _error("after must be 0 or more and limit 1 or more", 400)
        rows = inventories.affected_after(after, limit) if inventories is not None else []
        return _json({"items": msgspec.to_builtins(rows), "last": rows[-1].sequence if rows else after},
                     200, "application/json")

    @get("/probe/healthy", sync_to_thread=False)
    def healthy() -> Response:
        return Response(content=b"ok", media_type="text/plain")

    @get("/probe/ready", sync_to_thread=True)
    def ready() -> Response:
        if database.record_count() == 0:
            return Response(content=b"no vulnerability database imported yet", status_code=503,
                            media_type="text/plain")
        return Response(content=b"ready", media_type="text/plain")

    def on_http_error(_: Request, exc: HTTPException) -> Response:
        return _error(exc.detail or "request refused", exc.status_code)

    def on_crash(_: Request, exc: Exception) -> Response:
        import structlog

        structlog.get_logger("scanner").exception("request failed", error=type(exc).__name__)
        return _error("internal error in the scanner (its log has the details)", 500)

    return Litestar(route_handlers=[get_metadata, accept_scan, get_report, get_affected, healthy, ready],
                    exception_handlers={HTTPException: on_http_error, Exception: on_crash},
                    openapi_config=None, debug=False)
