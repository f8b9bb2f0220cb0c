"""Re-matches after a database import, turned into reports: a Tidemark scanner lists the
images it scanned before that new records hit (`GET /api/v1/tidemark/affected?after=N`, see
infra/scanner/inventories.py); for each such artifact of this registry, a scan run with
trigger "rematch" is recorded as completed, holding its last report's findings plus the new
ones. No image is pulled again. Those runs are ordinary Scan events: the feed, Kafka,
SCANNING_COMPLETED webhooks, Security Hub, the pull gate and the vulnerability history
(when each CVE first appeared) see them as they see any report.

An artifact whose newest run is still open is left to that run (its scanner already has the
new records); one never scanned with success by that scanner, or not in this registry, is
skipped. Each page of results is saved with the scanner's cursor in one write.
Adapters without the extension answer 404 and are asked again only every ten minutes.
"""

import time
from collections import defaultdict

import msgspec
import structlog

from eventsourcing.persistence import IntegrityError, RecordConflictError

from domain.base import Actor
from domain.names import project_of
from domain.scanning.matching import Hit
from domain.scanning.rematch_cursor import RematchCursor, cursor_id
from domain.scanning.reports import vulnerability_report
from domain.scanning.scan import Finding, Scan, scan_id
from infra.scanner.adapter_client import AdapterClient, Malformed, Refused, Retryable, findings_of

log = structlog.get_logger("scanning")
REMATCH = Actor(name="rematch")
INTERVAL_SECONDS = 10.0
UNSUPPORTED_SECONDS = 600.0
PAGE = 500


class RematchFollower:
    def __init__(self, registry) -> None:
        self.registry = registry
        self.next_poll = 0.0
        self.unsupported: dict[str, float] = {}

    def poll(self, force: bool = False) -> int:
        """Read every scanner's new results (every INTERVAL_SECONDS); how many runs were made."""
        now = time.monotonic()
        if not force and now < self.next_poll:
            return 0
        self.next_poll = now + INTERVAL_SECONDS
        made = 0
        for uuid, item in self.registry.scanners.current().items.items():
            if item.get("disabled") or self.unsupported.get(uuid, 0.0) > now:
                continue
            try:
                made += self._follow(uuid, item)
            except (Retryable, Refused, Malformed) as error:
                log.warning("re-match results not read", scanner=item.get("name"), reason=str(error))
        if made:
            self.registry.catch_up_reads()
        return made

    def _follow(self, uuid: str, item: dict) -> int:
        app = self.registry.app
        client = AdapterClient(item["url"], item.get("auth", ""), self.registry.scanners.credential(item),
                               verify=not item.get("skip_cert_verify", False), timeout=30.0)
        made = 0
        try:
            while True:
                cursor = app.find(cursor_id(uuid), RematchCursor) or RematchCursor.start(uuid, REMATCH)
                answer = client.affected(cursor.sequence)
                if answer is None:
                    self.unsupported[uuid] = time.monotonic() + UNSUPPORTED_SECONDS
                    return made
                items, last = answer
                if not items or last <= cursor.sequence:
                    return made
                runs = self._runs(uuid, item, items)
                cursor.advance(last, len(runs), sum(len(r.findings) for r in runs), REMATCH)
                try:
                    app.save(*runs, cursor)
                except (RecordConflictError, IntegrityError):  # a scan requested meanwhile took a run number
                    log.info("re-match page not recorded: a scan was requested meanwhile; tried again later")
                    return made
                made += len(runs)
                if len(items) < PAGE:
                    return made
        finally:
            client.close()

    def _runs(self, uuid: str, item: dict, items: list[dict]) -> list[Scan]:
        hits: dict[tuple[str, str], list[Hit]] = defaultdict(list)
        for entry in items:
            try:
                hits[str(entry["repository"]), str(entry["digest"])].append(msgspec.convert(entry["hit"], Hit))
            except (KeyError, TypeError, msgspec.ValidationError):
                log.warning("a malformed re-match result was skipped", scanner=item.get("name"))
        runs = []
        for (repository, digest), found in hits.items():
            run = self._run(uuid, item, repository, digest, found)
            if run is not None:
                runs.append(run)
        return runs

    def _run(self, uuid: str, item: dict, repository: str, digest: str, found: list[Hit]) -> Scan | None:
        registry = self.registry
        project = project_of(repository)
        detail = registry.queries.project_by_key(project, True)
        artifact = registry.history.artifact(repository, digest, None)
        if detail is None or artifact is None:
            return None
        generation = registry.commands.generation(repository)
        latest = registry.scan_runs.latest(repository, digest, generation, "vulnerability")
        if latest is None or latest.status in ("Pending", "Running"):
            return None
        base = None
        for run in range(latest.run, 0, -1):
            base = registry.app.find(scan_id(repository, digest, generation, "vulnerability", run), Scan)
            if base is not None and base.status == "Success":
                break
            base = None
        if base is None or base.scanner != uuid:
            return None
        _, new = findings_of(vulnerability_report("", {}, {}, found))
        findings = [msgspec.convert(f, Finding) for f in base.findings] + new
        scan = Scan.request(project, repository, digest, generation, "vulnerability", latest.run + 1, "rematch",
                            uuid, item.get("name", ""), artifact.media_type, REMATCH)
        scan.complete(base.scanner_version, base.report_media_type, findings, REMATCH)
        return scan
