"""The adapter API's ScanRequest, read strictly: a body that is no JSON or has a field of the
wrong type is a BadScanRequest (400), a field with a value the scanner cannot use an
InvalidScanField (422); both name the field."""

import re
from urllib.parse import urlsplit

import msgspec

from domain.scanning.reports import CONSUMES, SBOM_FORMATS, SBOM_REPORT, VULN_REPORTS, normalize_media_type

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
REPOSITORY = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
CAPABILITIES = {"vulnerability": VULN_REPORTS, "sbom": (SBOM_REPORT,)}


class BadScanRequest(ValueError):
    """400: not JSON, or a field of the wrong type."""


class InvalidScanField(ValueError):
    """422: a field whose value the scanner cannot use."""


class Registry(msgspec.Struct, omit_defaults=True):
    url: str = ""
    authorization: str = ""


class Artifact(msgspec.Struct, omit_defaults=True):
    repository: str = ""
    digest: str = ""
    tag: str = ""
    mime_type: str = ""


class SbomParameters(msgspec.Struct):
    sbom_media_types: list[str] = []


class Capability(msgspec.Struct):
    type: str
    produces_mime_types: list[str] | None = None
    parameters: SbomParameters | None = None


class ScanRequest(msgspec.Struct):
    registry: Registry
    artifact: Artifact
    enabled_capabilities: list[Capability] | None = None

    def capabilities(self) -> set[str]:
        """The capabilities asked for (all of them when the request names none)."""
        if not self.enabled_capabilities:
            return set(CAPABILITIES)
        return {c.type for c in self.enabled_capabilities}


def parse_scan_request(body: bytes) -> ScanRequest:
    try:
        request = msgspec.json.decode(body, type=ScanRequest)
    except msgspec.ValidationError as error:
        raise BadScanRequest(f"invalid scan request: {error}") from None
    except msgspec.DecodeError as error:
        raise BadScanRequest(f"the scan request is not valid JSON: {error}") from None
    url = urlsplit(request.registry.url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise InvalidScanField("registry.url must be an http or https URL")
    if not REPOSITORY.match(request.artifact.repository) or len(request.artifact.repository) > 255:
        raise InvalidScanField("artifact.repository must be a repository name (lowercase, / separated)")
    if not DIGEST.match(request.artifact.digest):
        raise InvalidScanField("artifact.digest must be a sha256 digest (sha256: and 64 hex digits)")
    if request.artifact.mime_type and normalize_media_type(request.artifact.mime_type) not in \
            {normalize_media_type(m) for m in CONSUMES}:
        raise InvalidScanField(f"artifact.mime_type {request.artifact.mime_type[:100]!r} is not one the "
                               f"scanner reads ({', '.join(CONSUMES)})")
    for index, capability in enumerate(request.enabled_capabilities or []):
        where = f"enabled_capabilities[{index}]"
        if capability.type not in CAPABILITIES:
            raise InvalidScanField(f"{where}.type must be vulnerability or sbom")
        known = {normalize_media_type(m) for m in CAPABILITIES[capability.type]}
        for mime in capability.produces_mime_types or []:
            if normalize_media_type(mime) not in known:
                raise InvalidScanField(f"{where}.produces_mime_types: {mime[:100]!r} is not a "
                                       f"{capability.type} report type")
        for mime in (capability.parameters.sbom_media_types if capability.parameters else []):
            if mime not in SBOM_FORMATS:
                raise InvalidScanField(f"{where}.parameters.sbom_media_types: {mime[:100]!r} is not one of "
                                       f"{', '.join(SBOM_FORMATS)}")
    return request
