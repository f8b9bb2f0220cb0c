"""Scan-all runs: a run started (by POST /system/scanAll/schedule with type Manual, or its
schedule's tick) is expanded into one scan request per scannable artifact of every project,
in a thread of its own, checking between batches whether the run was stopped; the scan
worker then sends them like any other. Its schedule ticks come from the cron scheduler."""

import threading

import structlog

from commands.scanning.runs import RequestScan, StopScan
from commands.scanning.scan_all import StartScanAll
from domain.base import SYSTEM, Actor
from domain.errors import RegistryError
from domain.names import project_of
from domain.scanning.reports import CONSUMES
from domain.scanning.scan_all import TRIGGERS
from workers.cron_scheduler import CronScheduler

log = structlog.get_logger("scanning")
SCAN_ALL = Actor(name="scan-all")
BATCH = 100


class ScanAllExpander:
    def __init__(self, registry) -> None:
        self.registry = registry
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def poke(self) -> None:
        """Expand the running run, if there is one and no expansion is under way."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            current = self.registry.scan_all.current()
            if current.running() is None:
                return
            self._thread = threading.Thread(target=self._guarded, name="scan-all", daemon=True)
            self._thread.start()

    def _guarded(self) -> None:
        try:
            expand(self.registry)
        except Exception:
            log.exception("scan-all expansion failed; it goes on at the next round")

    def join(self, timeout: float = 30.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def _artifacts(registry):
    for repository in registry.queries.repositories(None, None):
        rows, _ = registry.history.artifacts(repository, 0, 1_000_000, None)
        for row in rows:
            if row.media_type in CONSUMES:
                yield repository, row


def expand(registry) -> int:
    """Ask for a scan of every scannable artifact for the running run; return how many."""
    commands = registry.scan_all
    current = commands.current()
    run = current.running()
    if run is None:
        return 0
    trigger, number = current.current, run["run"]
    requested, seen, details = 0, 0, {}
    for repository, row in _artifacts(registry):
        seen += 1
        if seen % BATCH == 0:
            registry.scan_worker.wake()
            if commands.current().running() is None:  # stopped meanwhile
                return requested
        project = project_of(repository)
        if project not in details:
            details[project] = registry.queries.project_by_key(project, True)
        if details[project] is None:
            continue
        try:
            generation = registry.commands.generation(repository)
            latest = registry.scan_runs.latest(repository, row.digest, generation, "vulnerability")
            registry.scan_commands.request(RequestScan(
                project, details[project].project_id, repository, row.digest, generation, row.media_type,
                "vulnerability", TRIGGERS[trigger], SCAN_ALL, latest.run if latest else 0))
            requested += 1
        except RegistryError:  # no scanner for the project, or a scan already running
            continue
    commands.expanded(trigger, number, requested, SCAN_ALL)
    registry.catch_up_reads()
    registry.scan_worker.wake()
    return requested


def stop_open_scans(registry, run: dict, trigger: str, actor: Actor) -> int:
    """Stop the scans of a stopped run that have not ended."""
    stopped = 0
    for row in registry.scan_runs.unfinished(limit=100_000):
        if row.trigger != TRIGGERS[trigger] or row.position <= run["after"]:
            continue
        try:
            registry.scan_commands.stop(StopScan(row.repository, row.digest, row.generation, row.kind, actor, row.run))
            stopped += 1
        except RegistryError:
            continue
    return stopped


class ScanAllScheduler(CronScheduler):
    name = "scan-all-scheduler"
    what = "scheduled scan-all"

    def schedule(self):
        current = self.registry.scan_all.current()
        if not current.kind or self.registry.schedule_pause.paused():
            return None
        return current.cron, current.schedule_updated, None

    def last_scheduled(self) -> str | None:
        return self.registry.scan_all.current().last_tick or None

    def start_run(self, tick: str, parameters) -> str:
        self.registry.scan_all.start(StartScanAll("Schedule", SYSTEM, tick))
        self.registry.scan_all_expander.poke()
        return tick
