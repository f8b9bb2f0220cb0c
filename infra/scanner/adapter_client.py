"""Calls to a scanner adapter (Pluggable Scanner Adapter API v1.2): metadata, scan request,
report. Unreachable adapters and 5xx answers are `Retryable`; anything else it refuses is
`Refused`; a report that is not Harbor's shape is `Malformed`. Messages never carry the
credential or the registry token."""

from typing import Any

import httpx
import msgspec

from domain.scanning.reports import CONSUMES, SBOM_FORMATS, SBOM_REPORT, VULN_REPORT_1_1, VULN_REPORT_HARBOR
from domain.scanning.scan import Finding

METADATA_TYPE = "application/vnd.scanner.adapter.metadata+json; version=1.1"
SCAN_REQUEST_TYPE = "application/vnd.scanner.adapter.scan.request+json; version=1.1"


class Retryable(Exception):
    """The adapter could not be reached, or answered 5xx: worth another attempt."""


class Refused(Exception):
    """The adapter answered, and said no (4xx): another attempt would get the same."""


class Malformed(Exception):
    """The adapter's answer is not what the API defines."""


class Pending(Exception):
    """The report is not ready: ask again after `wait` seconds."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"report not ready, ask again in {wait} s")
        self.wait = wait


def auth_headers(auth: str, credential: str) -> dict[str, str]:
    """The header a registration's auth type sends its credential in (Harbor's rules)."""
    if not auth or not credential:
        return {}
    if auth == "X-ScannerAdapter-API-Key":
        return {"X-ScannerAdapter-API-Key": credential}
    prefix = f"{auth} "
    return {"Authorization": credential if credential.startswith(prefix) else prefix + credential}


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
        text = str(body.get("error", {}).get("message", "")) if isinstance(body, dict) else ""
    except ValueError:
        text = ""
    return f"HTTP {response.status_code}" + (f": {text[:300]}" if text else "")


class AdapterClient:
    def __init__(self, url: str, auth: str, credential: str, verify: bool, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.headers = auth_headers(auth, credential)
        self.client = httpx.Client(verify=verify, timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self.client.close()

    def _call(self, method: str, path: str, answers: tuple[int, ...] = (), **kwargs) -> httpx.Response:
        """The answer; Retryable if unreachable or 5xx (unless the status is one of `answers`)."""
        try:
            response = self.client.request(method, self.url + path,
                                           headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)
        except httpx.HTTPError as error:
            raise Retryable(f"scanner unreachable: {type(error).__name__}") from None
        if response.status_code >= 500 and response.status_code not in answers:
            raise Retryable(_message(response))
        return response

    def metadata(self) -> dict[str, Any]:
        response = self._call("GET", "/api/v1/metadata", headers={"Accept": METADATA_TYPE})
        if response.status_code != 200:
            raise Refused(_message(response))
        try:
            body = response.json()
        except ValueError:
            raise Malformed("the scanner's metadata is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("scanner"), dict):
            raise Malformed("the scanner's metadata has no scanner object")
        return body

    def request_scan(self, registry_url: str, token: str, repository: str, digest: str,
                     media_type: str, kind: str = "vulnerability", sbom_media_type: str = "") -> str:
        """Send a ScanRequest for a vulnerability report or (`kind` "sbom") an SBOM in
        `sbom_media_type`; return the adapter's scan request id."""
        capability: dict[str, Any] = {"type": "vulnerability",
                                      "produces_mime_types": [VULN_REPORT_1_1, VULN_REPORT_HARBOR]}
        if kind == "sbom":
            capability = {"type": "sbom", "produces_mime_types": [SBOM_REPORT],
                          "parameters": {"sbom_media_types": [sbom_media_type]}}
        body = {"registry": {"url": registry_url, "authorization": f"Bearer {token}"},
                "artifact": {"repository": repository, "digest": digest,
                             "mime_type": media_type if media_type in CONSUMES else ""},
                "enabled_capabilities": [capability]}
        response = self._call("POST", "/api/v1/scan", content=msgspec.json.encode(body),
                              headers={"Content-Type": SCAN_REQUEST_TYPE})
        if response.status_code not in (200, 201, 202):
            raise Refused(_message(response))
        try:
            scan_request = response.json().get("id")
        except (ValueError, AttributeError):
            scan_request = None
        if not isinstance(scan_request, str) or not scan_request:
            raise Malformed("the scanner's answer to the scan request has no id")
        return scan_request

    def report(self, scan_request: str, media_type: str, sbom_media_type: str = "") -> dict[str, Any]:
        """The report in `media_type` (an SBOM report in `sbom_media_type`); Pending while the
        adapter answers 302."""
        params = {"sbom_media_type": sbom_media_type} if media_type == SBOM_REPORT else None
        response = self._call("GET", f"/api/v1/scan/{scan_request}/report", answers=(501,),
                              headers={"Accept": media_type}, params=params)
        if response.status_code == 302:
            try:
                wait = float(response.headers.get("refresh-after", "5"))
            except ValueError:
                wait = 5.0
            raise Pending(max(wait, 0.05))
        if response.status_code != 200:
            raise Refused(_message(response))
        try:
            return response.json()
        except ValueError:
            raise Malformed("the scanner's report is not JSON") from None

    def affected(self, after: int) -> tuple[list[dict[str, Any]], int] | None:
        """What a Tidemark scanner's re-matches found after sequence `after` (items, last
        sequence); None from an adapter without that extension (any other adapter)."""
        response = self._call("GET", "/api/v1/tidemark/affected", params={"after": after})
        if response.status_code in (404, 405):
            return None
        if response.status_code != 200:
            raise Refused(_message(response))
        try:
            body = response.json()
            items, last = body["items"], int(body["last"])
        except (ValueError, KeyError, TypeError):
            raise Malformed("the scanner's list of newly affected images is malformed") from None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise Malformed("the scanner's list of newly affected images is malformed")
        return items, last


def findings_of(report: Any) -> tuple[str, list[Finding]]:
    """(scanner version, findings) of a HarborVulnerabilityReport; Malformed if it is not one."""
    if not isinstance(report, dict) or not isinstance(report.get("vulnerabilities", []), list):
        raise Malformed("the scanner's report has no vulnerabilities list")
    scanner = report.get("scanner") if isinstance(report.get("scanner"), dict) else {}
    findings = []
    for index, item in enumerate(report.get("vulnerabilities") or []):
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) and item.get(k)
                                                 for k in ("id", "package")):
            raise Malformed(f"the scanner's report: vulnerability {index} has no id or package")
        vendor = item.get("vendor_attributes") if isinstance(item.get("vendor_attributes"), dict) else {}
        cvss = item.get("preferred_cvss") if isinstance(item.get("preferred_cvss"), dict) else {}
        score = cvss.get("score_v3", cvss.get("score_v2"))
        links = item.get("links") if isinstance(item.get("links"), list) else []
        findings.append(Finding(
            id=item["id"][:256], package=item["package"][:256], version=str(item.get("version") or "")[:256],
            severity=str(item.get("severity") or "Unknown"), fix_version=str(item.get("fix_version") or "")[:256],
            description=str(item.get("description") or ""), links=[str(link)[:512] for link in links],
            cvss_score=float(score) if isinstance(score, (int, float)) else None,
            cvss_vector=str(cvss.get("vector_v3", cvss.get("vector_v2", "")))[:256],
            ecosystem=str(vendor.get("ecosystem", ""))[:64], purl=str(vendor.get("purl", ""))[:512]))
    return str(scanner.get("version", ""))[:128], findings



MAX_SBOM_BYTES = 64 * 1024 * 1024


def sbom_of(report: Any, wanted: str) -> tuple[str, bytes]:
    """(scanner version, the SBOM document as JSON bytes) of a HarborSbomReport in format
    `wanted`; Malformed if it is not one, names another format, or is larger than 64 MiB."""
    if not isinstance(report, dict) or not isinstance(report.get("sbom"), dict) or not report["sbom"]:
        raise Malformed("the scanner's SBOM report has no sbom document")
    media_type = report.get("media_type")
    if media_type not in SBOM_FORMATS:
        raise Malformed(f"the scanner's SBOM report has media_type {str(media_type)[:100]!r}, "
                        f"not one of {', '.join(SBOM_FORMATS)}")
    if media_type != wanted:
        raise Malformed(f"the scanner answered an SBOM in {media_type}, asked for {wanted}")
    document = msgspec.json.encode(report["sbom"])
    if len(document) > MAX_SBOM_BYTES:
        raise Malformed(f"the scanner's SBOM is larger than {MAX_SBOM_BYTES // (1024 * 1024)} MiB")
    scanner = report.get("scanner") if isinstance(report.get("scanner"), dict) else {}
    return str(scanner.get("version", ""))[:128], document
