"""auto_scan and auto_sbom_generation: a push of an image into a project whose metadata says
`auto_scan: true` asks for a vulnerability scan of it, `auto_sbom_generation: true` for an
SBOM (trigger "auto"). Only images (and indexes, for vulnerabilities) are scanned: not
charts, signatures or SBOMs, so an SBOM the worker pushes does not ask for one of its own.
The pushes come from the scan-run view's queue; each is taken off once decided, whatever the
decision, so a push is never held up or refused by a scanner fault (no scanner, one
disabled, a scan already running: nothing is requested)."""

import structlog

from commands.scanning.runs import RequestScan
from domain.base import Actor
from domain.errors import RegistryError
from domain.names import project_of
from domain.scanning.reports import can_scan

log = structlog.get_logger("scanning")
AUTO = Actor(name="auto-scan")


def request_for_pushes(registry, limit: int = 100) -> int:
    """Decide the queued pushes; return how many scans were requested."""
    requested = 0
    for repository, digest, position in registry.scan_runs.pushes(limit):
        try:
            requested += _decide(registry, repository, digest, position)
        except RegistryError as refusal:  # no scanner, disabled, already running, gone
            log.debug("auto scan not requested", repository=repository, digest=digest, reason=refusal.message)
        registry.scan_runs.done_with_push(repository, digest, position)
    if requested:
        registry.catch_up_reads()
    return requested


def _decide(registry, repository: str, digest: str, position: int) -> int:
    """The project's settings as they were at the push decide, not as they are when the worker
    gets to it: a push made before auto_scan was turned on is not scanned by a worker that lags."""
    project = project_of(repository)
    settings = registry.project_settings.of(project, position)
    if settings is None:
        return 0
    kinds = [kind for kind, key in (("vulnerability", "auto_scan"), ("sbom", "auto_sbom_generation"))
             if settings.metadata.get(key) == "true"]
    if not kinds:
        return 0
    detail = registry.queries.project_by_key(project, True)
    artifact = registry.history.artifact(repository, digest, None)
    if detail is None or artifact is None:
        return 0
    generation = registry.commands.generation(repository)
    requested = 0
    for kind in kinds:
        if not can_scan(kind, artifact.media_type, artifact.artifact_type):
            continue
        latest = registry.scan_runs.latest(repository, digest, generation, kind)
        try:
            registry.scan_commands.request(RequestScan(
                project, detail.project_id, repository, digest, generation, artifact.media_type, kind,
                "auto", AUTO, latest.run if latest else 0))
        except RegistryError as refusal:  # one kind refused does not keep the other from running
            log.debug("auto scan not requested", repository=repository, digest=digest, kind=kind,
                      reason=refusal.message)
            continue
        requested += 1
    return requested
