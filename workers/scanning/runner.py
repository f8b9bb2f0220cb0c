"""The scan worker: takes each scan run not yet finished (from the scan-run view, which
follows the log with its own tracked position, so a restart resumes every open run), sends
it to its scanner adapter and records what came back.

For each run:
1. a pull token for that one repository (subject `scanner:<report id>`, principal kind
   "scanner", `repository:<repo>:pull` only, expiring within the scan's time budget);
2. the ScanRequest to the run's scanner; Submitted with the adapter's request id;
3. the report, asked with Accept `...vulnerability.report; version=1.1` (Harbor's
   `...vuln.report.harbor+json; version=1.0` if the adapter does not make that one), every
   Refresh-After while it answers 302; Completed with the findings and summary.
   An SBOM run asks for `...sbom.report+json; version=1.0` in SPDX (what Harbor asks for),
   pushes the document as the image's SBOM accessory (workers/scanning/sbom_accessory.py),
   records Completed with its digest, then deletes the SBOM it replaces.
Unreachable adapters and 5xx answers are tried `scan_attempts` times with doubling waits;
then, or on a refusal or a malformed answer, Failed with the reason; a run whose time budget
(`scan_timeout_seconds` from its request) runs out is Failed too. A stopped run is left alone.

Retry contract: attempts = settings.scan_attempts per call, waits scan_retry_base_seconds
doubling; which errors retry: connection errors and 5xx (adapter_client.Retryable).
Processes that follow the log (`--role all` or `workers`) each start this worker; only the
one holding the `scan-worker` lease (workers/lease.py, in the views' database) works, the
others stand by and take over within the lease's 15 s once the holder stops renewing. A run
the holder left open is resumed by the next holder from its recorded state.
"""

import threading
import time
from datetime import datetime

import structlog

from domain.base import Actor
from domain.errors import RegistryError
from domain.names import project_of
from domain.scanning.reports import SBOM_REPORT, SPDX_JSON, VULN_REPORT_1_1, VULN_REPORT_HARBOR
from infra.auth.token_authz import SCANNER_SUBJECT
from workers.leased_worker import LeasedWorker
from workers.scanning.auto_scan import request_for_pushes
from infra.scanner.adapter_client import (
    AdapterClient, Malformed, Pending, Refused, Retryable, findings_of, sbom_of)
from workers.scanning.sbom_accessory import push_sbom, remove_sbom

log = structlog.get_logger("scanning")
WORKER = Actor(name="scan-worker")
POLL_SECONDS = 1.0


class ScanWorker(LeasedWorker):
    name = "scan-worker"
    poll_seconds = POLL_SECONDS

    def __init__(self, registry) -> None:
        super().__init__(registry, registry.settings.scan_concurrency)
        self._active: set[str] = set()
        self._lock = threading.Lock()

    def stop_scans_of(self, run: dict, trigger: str, actor) -> int:
        """Stop the scans a stopped scan-all run asked for that have not ended."""
        from workers.scanning.scan_all import stop_open_scans

        return stop_open_scans(self.registry, run, trigger, actor)

    def round(self) -> None:
        self.registry.scan_run_projector.catch_up()
        request_for_pushes(self.registry)
        self.registry.scan_all_expander.poke()
        self.registry.rematch_follower.poll()
        for row in self.registry.scan_runs.unfinished(limit=500):
            with self._lock:
                if row.scan_key in self._active or len(self._active) >= self.settings.scan_concurrency:
                    continue
                self._active.add(row.scan_key)
            self._pool.submit(self._guarded, row)

    def _guarded(self, row) -> None:
        try:
            self.run_one(row.scan_key)
        except Exception:
            log.exception("scan failed unexpectedly", report_id=row.scan_key)
            self._record(self.registry.scan_commands.failed, row.scan_key,
                         "internal error while scanning (see the server log)", 0, WORKER)
        finally:
            with self._lock:
                self._active.discard(row.scan_key)
            self._wake.set()

    def _record(self, method, *args) -> None:
        if method(*args).position is not None:
            self._recorded()

    def _recorded(self) -> None:
        self.registry.catch_up_reads()
        hook = getattr(self.registry, "on_scan_recorded", None)
        if hook is not None:
            hook()

    # -- one run ---------------------------------------------------------------------

    def run_one(self, key: str) -> None:
        commands = self.registry.scan_commands
        scan = commands.load(key)
        if scan is None or scan.finished:
            return
        deadline = _epoch(scan.created_on) + self.settings.scan_timeout_seconds
        item = self.registry.scanners.current().items.get(scan.scanner)
        if item is None:
            self._record(commands.failed, key, "the scanner registration was removed", 0, WORKER)
            return
        client = AdapterClient(item["url"], item.get("auth", ""), self.registry.scanners.credential(item),
                               verify=not item.get("skip_cert_verify", False),
                               timeout=min(30.0, self.settings.scan_timeout_seconds))
        try:
            self._scan(key, scan, client, deadline)
        finally:
            client.close()

    def _scan(self, key: str, scan, client: AdapterClient, deadline: float) -> None:
        commands = self.registry.scan_commands
        attempts = 0
        scanner_request = scan.scanner_request
        if scan.status == "Pending":
            lifetime = max(1, int(min(deadline - time.time(), self.settings.scan_timeout_seconds)))
            project = self.registry.queries.project(project_of(scan.repository))
            token = self.registry.tokens.issue(
                SCANNER_SUBJECT + key, [{"type": "repository", "name": scan.repository, "actions": ["pull"]}],
                lifetime=lifetime,
                projects={project_of(scan.repository): project.project_id if project is not None else 0})["token"]
            try:
                scanner_request, attempts = self._retrying(
                    lambda: client.request_scan(self.registry.external_url, token, scan.repository, scan.digest,
                                                scan.media_type, scan.kind, SPDX_JSON), deadline)
            except (Retryable, Refused, Malformed, TimeoutError) as error:
                self._record(commands.failed, key, f"scan request: {error}", attempts or 1, WORKER)
                return
            self._record(commands.submitted, key, scanner_request, attempts, WORKER)
        media_types = [SBOM_REPORT] if scan.kind == "sbom" else [VULN_REPORT_1_1, VULN_REPORT_HARBOR]
        failures = 0
        while not self._stopping.is_set():
            current = commands.load(key)
            if current is None or current.finished:  # stopped meanwhile
                return
            if time.time() >= deadline:
                self._record(commands.failed, key, f"no report within {self.settings.scan_timeout_seconds:g} "
                             "seconds (setting scan_timeout_seconds)", attempts + failures, WORKER)
                return
            try:
                report = client.report(scanner_request, media_types[0], SPDX_JSON)
            except Pending as pending:
                self._sleep(min(pending.wait, self.settings.scan_refresh_max_seconds, deadline - time.time()))
                continue
            except Refused as error:
                if len(media_types) > 1 and any(f"HTTP {c}" in str(error) for c in (400, 406, 415, 422, 501)):
                    media_types.pop(0)  # the adapter makes only Harbor's older report type
                    continue
                self._record(commands.failed, key, f"report: {error}", attempts + failures + 1, WORKER)
                return
            except Malformed as error:
                self._record(commands.failed, key, str(error), attempts + failures + 1, WORKER)
                return
            except Retryable as error:
                failures += 1
                if failures >= self.settings.scan_attempts:
                    self._record(commands.failed, key, f"report: {error} (after {failures} attempts)",
                                 attempts + failures, WORKER)
                    return
                self._sleep(self._backoff(failures))
                continue
            if scan.kind == "sbom":
                self._store_sbom(key, scan, report, attempts + failures + 1)
                return
            try:
                version, findings = findings_of(report)
            except Malformed as error:
                self._record(commands.failed, key, str(error), attempts + failures + 1, WORKER)
                return
            self._record(commands.completed, key, version, media_types[0], findings, WORKER)
            return

    def _store_sbom(self, key: str, scan, report, attempts: int) -> None:
        """Push the report's SBOM as the image's accessory; record the run's end."""
        commands = self.registry.scan_commands
        previous = self.registry.scan_runs.sbom_digest(scan.repository, scan.digest, scan.generation)
        try:
            version, document = sbom_of(report, SPDX_JSON)
            digest = push_sbom(self.registry, scan.repository, scan.digest, document, SPDX_JSON, WORKER)
        except Malformed as error:
            self._record(commands.failed, key, str(error), attempts, WORKER)
            return
        except RegistryError as refusal:  # over the quota, the artifact or project gone
            self._record(commands.failed, key, f"storing the SBOM: {refusal.message}", attempts, WORKER)
            return
        if commands.completed(key, version, SBOM_REPORT, [], WORKER, digest).position is None:
            # stopped while the SBOM was pushed: the run has no SBOM, so the one pushed goes
            remove_sbom(self.registry, scan.repository, digest, WORKER, {"sbom_report": key, "stopped": True})
        elif previous and previous != digest:
            remove_sbom(self.registry, scan.repository, previous, WORKER, {"sbom_report": key, "replaced_by": digest})
        self._recorded()

    def _retrying(self, call, deadline: float):
        """(result, attempts) of `call`, tried again on Retryable up to scan_attempts times."""
        for attempt in range(1, self.settings.scan_attempts + 1):
            try:
                return call(), attempt
            except Retryable as error:
                if attempt == self.settings.scan_attempts or time.time() >= deadline:
                    raise Retryable(f"{error} (after {attempt} attempts)") from None
                self._sleep(self._backoff(attempt))
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        return self.settings.scan_retry_base_seconds * 2 ** (attempt - 1)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)


def _epoch(when: datetime) -> float:
    return when.timestamp()
