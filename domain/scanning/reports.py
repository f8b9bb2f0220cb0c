"""The reports the scanner adapter API answers with (Pluggable Scanner Adapter API v1.2).

Both vulnerability media types carry Harbor's `HarborVulnerabilityReport`; the SBOM media
type carries `HarborSbomReport` around an SPDX or CycloneDX document (domain/scanning/sbom.py).
"""

from typing import Any

from domain.artifacts.kinds import artifact_kind
from domain.scanning.matching import Hit
from domain.scanning.scan import SEVERITIES, severity_rank

VULN_REPORT_1_1 = "application/vnd.security.vulnerability.report; version=1.1"
VULN_REPORT_HARBOR = "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0"
SBOM_REPORT = "application/vnd.security.sbom.report+json; version=1.0"
SPDX_JSON = "application/spdx+json"
CYCLONEDX_JSON = "application/vnd.cyclonedx+json"
SBOM_FORMATS = (SPDX_JSON, CYCLONEDX_JSON)
SBOM_ARTIFACT_TYPE = "application/vnd.goharbor.harbor.sbom.v1"  # Harbor's SBOM accessory
VULN_REPORTS = (VULN_REPORT_1_1, VULN_REPORT_HARBOR)

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
CONSUMES = (OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST)
SBOM_CONSUMES = (OCI_MANIFEST, DOCKER_MANIFEST)  # an SBOM describes one image


def can_scan(kind: str, media_type: str, artifact_type: str | None) -> bool:
    """Whether an artifact can have a scan of `kind`: images (and, for vulnerabilities, image
    indexes); not charts, signatures, SBOMs or other artifacts that hold no file system."""
    if artifact_kind(media_type, artifact_type) not in ("IMAGE", "IMAGE_INDEX"):
        return False
    return media_type in (SBOM_CONSUMES if kind == "sbom" else CONSUMES)


def normalize_media_type(text: str) -> str:
    """`a/b;version=1.1` and `A/B; version=1.1` are the same media type."""
    kind, *params = [part.strip() for part in text.split(";")]
    return "; ".join([kind.lower(), *sorted(p.replace(" ", "") for p in params if p)])


def metadata(name: str, vendor: str, version: str, database_updated_at: str | None) -> dict[str, Any]:
    """`ScannerAdapterMetadata`: who the scanner is, what it reads and writes, how fresh its
    database is (the property is left out until a database was imported)."""
    properties = {
        "harbor.scanner-adapter/scanner-type": "os-package-vulnerability",
        "harbor.scanner-adapter/vulnerability-database-source": "OSV (imported with tidemark vulndb import)",
        "harbor.scanner-adapter/sbom-formats": ", ".join(SBOM_FORMATS),
    }
    if database_updated_at:
        properties["harbor.scanner-adapter/vulnerability-database-updated-at"] = database_updated_at
    return {
        "scanner": {"name": name, "vendor": vendor, "version": version},
        "capabilities": [
            {"type": "vulnerability", "consumes_mime_types": list(CONSUMES),
             "produces_mime_types": list(VULN_REPORTS)},
            {"type": "sbom", "consumes_mime_types": list(CONSUMES), "produces_mime_types": [SBOM_REPORT],
             "additional_attributes": {"sbom_media_types": list(SBOM_FORMATS)}},
        ],
        "properties": properties,
    }


def _item(hit: Hit) -> dict[str, Any]:
    cvss = {k: v for k, v in (("score_v3", hit.cvss.score_v3), ("vector_v3", hit.cvss.vector_v3),
                              ("score_v2", hit.cvss.score_v2), ("vector_v2", hit.cvss.vector_v2)) if v}
    vendor: dict[str, Any] = {"osv_ids": hit.osv_ids, "ecosystem": hit.ecosystem, "path": hit.path}
    if hit.aliases:
        vendor["aliases"] = hit.aliases
    if hit.purl:
        vendor["purl"] = hit.purl
    if hit.source:
        vendor["source_package"] = hit.source
    scores = {k: v for k, v in (("V3Score", hit.cvss.score_v3), ("V3Vector", hit.cvss.vector_v3),
                                ("V2Score", hit.cvss.score_v2), ("V2Vector", hit.cvss.vector_v2),
                                ("V40Score", hit.cvss.score_v4), ("V40Vector", hit.cvss.vector_v4)) if v}
    if scores:
        vendor["CVSS"] = {"osv": scores}
    item: dict[str, Any] = {"id": hit.id, "package": hit.package, "version": hit.version,
                            "fix_version": hit.fix_version, "severity": hit.severity,
                            "description": hit.description, "links": hit.links, "cwe_ids": hit.cwe_ids,
                            "vendor_attributes": vendor}
    if cvss:
        item["preferred_cvss"] = cvss
    return item


def vulnerability_report(generated_at: str, artifact: dict, scanner: dict, hits: list[Hit]) -> dict[str, Any]:
    """`HarborVulnerabilityReport`; its severity is the gravest found (Unknown when none,
    the lowest the schema allows)."""
    highest = max((severity_rank(h.severity) for h in hits), default=0)
    return {"generated_at": generated_at, "artifact": artifact, "scanner": scanner,
            "severity": SEVERITIES[highest], "vulnerabilities": [_item(h) for h in hits]}


def sbom_report(generated_at: str, artifact: dict, scanner: dict, media_type: str, document: dict,
                packages: int) -> dict[str, Any]:
    """`HarborSbomReport` around one SBOM document."""
    return {"generated_at": generated_at, "artifact": artifact, "scanner": scanner,
            "vendor_attributes": {"packages": packages}, "media_type": media_type, "sbom": document}


def error(message: str) -> dict[str, Any]:
    """`ErrorResponse`."""
    return {"error": {"message": message}}
