"""A worker that must run in one process at a time (the scan worker, the replication worker):
a thread that, while it holds its lease (workers/lease.py, in the views' database), runs a
round every `poll_seconds` or when woken, with a pool for the work a round hands out; the
others stand by and take over within the lease's 15 s once the holder stops renewing."""

import threading
from concurrent.futures import ThreadPoolExecutor

import structlog

from workers.lease import SqlLease

log = structlog.get_logger("workers")


class LeasedWorker:
    name = "worker"
    poll_seconds = 1.0
    standby_seconds = 1.0  # how often a process without the lease asks for it

    def __init__(self, registry, concurrency: int) -> None:
        self.registry = registry
        self.settings = registry.settings
        self.concurrency = concurrency
        self.lease = SqlLease(registry.db, self.name)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    def round(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        if self._thread is not None:
            return
        self.lease.setup()
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix=self.name)
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def request_stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def stop(self) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._thread is not None:
            try:
                self.lease.release()  # another process may take over at once
            except Exception:
                log.warning("could not release a worker's lease", worker=self.name, exc_info=True)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            wait = self.poll_seconds
            try:
                if self.lease.acquire():
                    self.round()
                else:
                    wait = self.standby_seconds
            except Exception:  # a broken round must not end the worker: try again next tick
                log.exception("worker round failed", worker=self.name)
            self._wake.wait(wait)
            self._wake.clear()
