"""Commands on scan runs (domain/scanning/scan.py): request one, and what the scan worker
records as it goes (submitted, completed, failed), and stop.

A request picks the project's scanner (or the default) and the next run number. Run
numbers are found from the log itself (the run's stream either exists or not), not from a
view that may lag: a run still open refuses a new request (409, as Harbor's "a previous scan
process is running"), and two requests racing for the same next run meet a conflict on its
stream, the loser then finding the winner open.
"""

from uuid import UUID

import msgspec

from commands.application import RegistryApplication
from commands.artifacts.messages import Outcome
from commands.retries import retried
from domain.base import Actor
from domain.errors import Conflict, NotFound, PreconditionFailed
from domain.scanning.registration import REGISTRATIONS_ID, ScannerRegistrations
from domain.scanning.scan import Finding, Scan, scan_id


class RequestScan(msgspec.Struct, frozen=True):
    project: str
    project_id: int
    repository: str
    digest: str
    generation: int
    media_type: str
    kind: str
    trigger: str
    actor: Actor
    latest_run: int = 0  # what the run view knows: the search for the next run starts there


class StopScan(msgspec.Struct, frozen=True):
    repository: str
    digest: str
    generation: int
    kind: str
    actor: Actor
    latest_run: int = 0


class ScanRunCommands:
    def __init__(self, app: RegistryApplication) -> None:
        self.app = app

    def _scan(self, key: UUID | str) -> Scan:
        scan = self.app.find(UUID(str(key)), Scan)
        if scan is None:
            raise NotFound("scan not found", {"report_id": str(key)})
        return scan

    def _save(self, scan: Scan) -> Outcome:
        recordings = self.app.save(scan)
        return Outcome(position=recordings[-1].notification.id if recordings else None)

    def _newest(self, repository: str, digest: str, generation: int, kind: str,
                latest_run: int) -> Scan | None:
        """The newest run stored, from the run `latest_run` on."""
        run, newest = max(latest_run, 1), None
        while True:
            found = self.app.find(scan_id(repository, digest, generation, kind, run), Scan)
            if found is None:
                return newest
            newest, run = found, run + 1

    @retried
    def request(self, c: RequestScan) -> tuple[str, Outcome]:
        """Record a new run; return its report id and the outcome."""
        registrations = self.app.find(REGISTRATIONS_ID, ScannerRegistrations)
        uuid = registrations.for_project(c.project, c.project_id) if registrations else None
        if uuid is None:
            raise PreconditionFailed("no scanner is configured for this project")
        scanner = registrations.items[uuid]
        if scanner.get("disabled"):
            raise PreconditionFailed(f"the scanner {scanner['name']!r} of this project is disabled")
        newest = self._newest(c.repository, c.digest, c.generation, c.kind, c.latest_run)
        if newest is not None and not newest.finished:
            raise Conflict(f"a previous scan process is {newest.status}", {"report_id": str(newest.id)})
        run = newest.run + 1 if newest is not None else 1
        scan = Scan.request(c.project, c.repository, c.digest, c.generation, c.kind, run, c.trigger,
                            uuid, scanner["name"], c.media_type, c.actor)
        return str(scan.id), self._save(scan)

    @retried
    def stop(self, c: StopScan) -> Outcome:
        newest = self._newest(c.repository, c.digest, c.generation, c.kind, c.latest_run)
        if newest is None:
            raise NotFound("the artifact has never been scanned", {"digest": c.digest})
        newest.stop(c.actor)
        return self._save(newest)

    # -- what the scan worker records -------------------------------------------------

    def load(self, key: str) -> Scan | None:
        return self.app.find(UUID(key), Scan)

    @retried
    def submitted(self, key: str, scanner_request: str, attempt: int, actor: Actor) -> Outcome:
        scan = self._scan(key)
        if scan.finished:
            return Outcome(position=None)
        scan.submitted(scanner_request, attempt, actor)
        return self._save(scan)

    @retried
    def completed(self, key: str, scanner_version: str, report_media_type: str, findings: list[Finding],
                  actor: Actor, sbom_digest: str | None = None) -> Outcome:
        scan = self._scan(key)
        if scan.finished:
            return Outcome(position=None)
        scan.complete(scanner_version, report_media_type, findings, actor, sbom_digest)
        return self._save(scan)

    @retried
    def failed(self, key: str, reason: str, attempts: int, actor: Actor) -> Outcome:
        scan = self._scan(key)
        if scan.finished:
            return Outcome(position=None)
        scan.fail(reason, attempts, actor)
        return self._save(scan)
