"""The scans the adapter has accepted: queued, running, done or failed, in memory.

Scans run on a small thread pool. A finished scan's report is kept for a while
(`report_ttl_seconds`) for its caller to fetch, then forgotten (the caller, Tidemark or
Harbor, stores what it fetched). A restarted scanner has forgotten every scan: polling an
old id answers 404, and the caller scans again. A scan that runs past its time limit, or
is still running when the server stops, is cancelled at its next read.
"""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import structlog

from infra.scanner.layers import Cancelled, LayerRefused
from infra.scanner.puller import PullFailed
from infra.scanner.requests import ScanRequest
from infra.scanner.scan_run import NoDatabase, ScanResult

log = structlog.get_logger("scanner")
EXPECTED = (PullFailed, LayerRefused, NoDatabase, Cancelled)


class Busy(Exception):
    """Too many scans are waiting; the caller should try again later."""


class Job:
    def __init__(self, request: ScanRequest, timeout: float) -> None:
        self.id = str(uuid.uuid4())
        self.request = request
        self.status = "queued"  # queued, running, done, failed
        self.result: ScanResult | None = None
        self.error = ""
        self.deadline = time.monotonic() + timeout
        self.finished_at: float | None = None
        self.stopping = threading.Event()

    def cancelled(self) -> bool:
        return self.stopping.is_set() or time.monotonic() > self.deadline


class JobTable:
    def __init__(self, run: Callable[[ScanRequest, Callable[[], bool]], ScanResult], workers: int,
                 queued: int, ttl: float, timeout: float) -> None:
        self.run, self.ttl, self.timeout, self.queued = run, ttl, timeout, queued
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scan")

    def submit(self, request: ScanRequest) -> Job:
        job = Job(request, self.timeout)
        with self.lock:
            self._forget_old()
            if sum(1 for j in self.jobs.values() if j.status == "queued") >= self.queued:
                raise Busy(f"{self.queued} scans are already waiting; try again later")
            self.jobs[job.id] = job
        self.pool.submit(self._work, job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self.lock:
            self._forget_old()
            return self.jobs.get(job_id)

    def _forget_old(self) -> None:
        now = time.monotonic()
        for job_id in [j.id for j in self.jobs.values() if j.finished_at and now - j.finished_at > self.ttl]:
            del self.jobs[job_id]

    def _work(self, job: Job) -> None:
        job.status = "running"
        try:
            job.result = self.run(job.request, job.cancelled)
            job.status = "done"
        except EXPECTED as error:
            reason = str(error)
            if isinstance(error, Cancelled) and not job.stopping.is_set():
                reason = f"the scan ran longer than {self.timeout:g} seconds (TIDEMARK_SCANNER_SCAN_TIMEOUT_SECONDS)"
            job.error, job.status = reason, "failed"
            log.warning("scan failed", scan_id=job.id, repository=job.request.artifact.repository,
                        digest=job.request.artifact.digest, reason=reason)
        except Exception as error:  # a bug: the caller is told the scan failed, the log has why
            job.error, job.status = f"the scanner failed unexpectedly ({type(error).__name__})", "failed"
            log.exception("scan crashed", scan_id=job.id)
        finally:
            job.finished_at = time.monotonic()

    def close(self) -> None:
        """Stop: running scans are cancelled at their next read, queued ones never start."""
        with self.lock:
            for job in self.jobs.values():
                job.stopping.set()
        self.pool.shutdown(wait=True, cancel_futures=True)
