"""One scan: pull the image into a scratch directory of its own, read its package inventory,
match it against the vulnerability database, and delete the scratch directory, whatever
happened."""

import shutil
import tempfile
import time
import uuid
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any, Callable

import msgspec
import structlog

from domain.scanning.inventory import OS_RELEASE, OperatingSystem, Package, inventory, kind_of
from domain.scanning.matching import Hit, match
from domain.scanning.overlay import Overlay
from domain.scanning.reports import SPDX_JSON, sbom_report, vulnerability_report
from domain.scanning.sbom import cyclonedx, spdx
from infra.scanner.inventories import InventoryStore
from infra.scanner.layers import Budget, Limits, read_layer
from infra.scanner.puller import Puller
from infra.scanner.requests import ScanRequest
from infra.scanner.settings import ScannerSettings
from infra.scanner.vulndb import VulnDb, now_rfc3339

log = structlog.get_logger("scanner")
NAME, VENDOR = "Tidemark", "Tidemark"


def version() -> str:
    try:
        return package_metadata.version("tidemark")
    except package_metadata.PackageNotFoundError:
        return "0"


def scanner_info() -> dict[str, str]:
    return {"name": NAME, "vendor": VENDOR, "version": version()}


class NoDatabase(Exception):
    """A vulnerability scan with no database to match against."""


class ScanResult(msgspec.Struct):
    artifact: dict
    generated_at: str
    system: OperatingSystem
    packages: list[Package]
    hits: list[Hit]
    capabilities: set[str]
    seconds: dict[str, float]
    sboms: dict[str, dict] = {}

    def vulnerability_report(self) -> dict[str, Any]:
        return vulnerability_report(self.generated_at, self.artifact, scanner_info(), self.hits)

    def sbom_report(self, media_type: str) -> dict[str, Any]:
        if media_type not in self.sboms:
            document_id = str(uuid.uuid4())
            tool = f"{NAME}-{version()}"
            document = spdx(self.artifact, self.packages, self.system, self.generated_at, tool, document_id) \
                if media_type == SPDX_JSON else \
                cyclonedx(self.artifact, self.packages, self.generated_at, NAME, version(), document_id)
            self.sboms[media_type] = sbom_report(self.generated_at, self.artifact, scanner_info(), media_type,
                                                 document, len(self.packages))
        return self.sboms[media_type]


def builtin_inventory(image, budget: Budget) -> tuple[OperatingSystem, list[Package]]:
    """Layers read as streams in order, whiteouts applied, then the readers."""
    wanted = lambda path: kind_of(path) is not None  # noqa: E731
    overlay = Overlay()
    for digest, file in image.layers:
        overlay.apply(read_layer(file, digest, wanted, budget))
    return inventory(overlay.view(OS_RELEASE))


def run_scan(request: ScanRequest, settings: ScannerSettings, database: VulnDb,
             cancelled: Callable[[], bool], inventories: InventoryStore | None = None) -> ScanResult:
    """The whole scan; raises PullFailed, LayerRefused, NoDatabase or Cancelled with the
    reason a user is shown."""
    capabilities = request.capabilities()
    if "vulnerability" in capabilities and database.record_count() == 0:
        raise NoDatabase("the vulnerability database is empty: import OSV records with "
                         "`tidemark vulndb import` first")
    settings.scratch_path.mkdir(parents=True, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="scan-", dir=settings.scratch_path)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    puller = Puller(request.registry.url, request.registry.authorization, request.artifact.repository,
                    settings.registry_timeout_seconds, settings.registry_tls_verify,
                    settings.max_download_bytes, cancelled)
    try:
        image = puller.pull(request.artifact.digest, Path(scratch))
        seconds["pull"] = time.perf_counter() - started
        mark = time.perf_counter()
        budget = Budget(Limits(uncompressed_bytes=settings.max_uncompressed_bytes,
                               member_bytes=settings.max_member_bytes, members=settings.max_members,
                               wanted_bytes=settings.max_wanted_bytes), cancelled)
        if settings.inventory == "syft":
            from infra.scanner.syft import syft_inventory

            system, packages = syft_inventory(image, scratch, settings)
        else:
            system, packages = builtin_inventory(image, budget)
        seconds["inventory"] = time.perf_counter() - mark
        mark = time.perf_counter()
        hits = match(packages, database.lookup) if "vulnerability" in capabilities else []
        seconds["match"] = time.perf_counter() - mark
    finally:
        puller.close()
        shutil.rmtree(scratch, ignore_errors=True)
    generated_at = now_rfc3339()
    if inventories is not None and "vulnerability" in capabilities:  # for a re-match after an import
        inventories.remember(puller.shown, request.artifact.repository, request.artifact.digest,
                             system, packages, hits, generated_at)
    artifact = {k: v for k, v in msgspec.to_builtins(request.artifact).items() if v}
    log.info("scan done", repository=request.artifact.repository, digest=request.artifact.digest,
             packages=len(packages), vulnerabilities=len(hits), **{f"{k}_seconds": round(v, 3) for k, v in seconds.items()})
    return ScanResult(artifact=artifact, generated_at=generated_at, system=system, packages=packages,
                      hits=hits, capabilities=capabilities, seconds=seconds)

