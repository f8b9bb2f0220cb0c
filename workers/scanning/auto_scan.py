"""auto_scan: a push of an image into a project whose metadata says `auto_scan: true` asks
for a scan of it (trigger "auto"). The pushes come from the scan-run view's queue; each is
taken off once decided, whatever the decision, so a push is never held up or refused by a
scanner fault (no scanner, one disabled, a scan already running: nothing is requested)."""

import structlog

from commands.scanning.runs import RequestScan
from domain.base import Actor
from domain.errors import RegistryError
from domain.names import project_of
from domain.scanning.reports import CONSUMES

log = structlog.get_logger("scanning")
AUTO = Actor(name="auto-scan")


def request_for_pushes(registry, limit: int = 100) -> int:
    """Decide the queued pushes; return how many scans were requested."""
    requested = 0
    for repository, digest, position in registry.scan_runs.pushes(limit):
        try:
            requested += _decide(registry, repository, digest)
        except RegistryError as refusal:  # no scanner, disabled, already running, gone
            log.debug("auto scan not requested", repository=repository, digest=digest, reason=refusal.message)
        registry.scan_runs.done_with_push(repository, digest, position)
    if requested:
        registry.catch_up_reads()
    return requested


def _decide(registry, repository: str, digest: str) -> int:
    project = project_of(repository)
    settings = registry.project_settings.of(project)
    if settings is None or settings.metadata.get("auto_scan") != "true":
        return 0
    detail = registry.queries.project_by_key(project, True)
    artifact = registry.history.artifact(repository, digest, None)
    if detail is None or artifact is None or artifact.media_type not in CONSUMES:
        return 0
    generation = registry.commands.generation(repository)
    latest = registry.scan_runs.latest(repository, digest, generation, "vulnerability")
    registry.scan_commands.request(RequestScan(
        project, detail.project_id, repository, digest, generation, artifact.media_type, "vulnerability",
        "auto", AUTO, latest.run if latest else 0))
    return 1
