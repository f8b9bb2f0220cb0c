"""Wiring garbage collection into a registry; starting collections (one at a time per
process) and closing runs a crash interrupted."""

import queue
import threading
import uuid

import structlog

from domain.base import Actor
from domain.errors import Conflict
from domain.gc import GcRun
from commands.gc_schedule_handlers import GcScheduleCommands
from infra.store.gc_lock import gc_lock_for
from projections.gc_view import GcQueries, GcView
from projections.projector import Projector
from workers.gc import GarbageCollector

log = structlog.get_logger("gc")


# A run records its end just before its thread lets go of the lock: a client that saw it end
# and starts the next one waits this long for that instead of getting a 409.
LOCK_WAIT_SECONDS = 1.0


class GcService:
    def __init__(self, registry) -> None:
        self.registry = registry
        settings = registry.settings
        self.collector = GarbageCollector(registry, settings.gc_grace_seconds,
                                          settings.gc_history_window_seconds)
        self._running = threading.Lock()

    def close_interrupted(self) -> None:
        """Runs still 'Running' at start-up died with their process: record that."""
        for run_id in self.registry.gc.unfinished():
            run = self.registry.app.find(uuid.UUID(run_id), GcRun)
            if run is not None and run.status == "Running":
                run.fail("interrupted: the process stopped during the run", Actor(name="gc"))
                self.registry.app.save(run)
                log.warning("marked an interrupted garbage collection as failed", run=run_id)
        self.registry.catch_up()

    def run(self, dry_run: bool, delete_untagged: bool, report=lambda progress: None,
            scheduled_for: str | None = None) -> str:
        if not self._running.acquire(timeout=LOCK_WAIT_SECONDS):
            raise Conflict("a garbage collection is already running")
        try:
            return self.collector.run(dry_run, delete_untagged, report, scheduled_for)
        finally:
            self._running.release()

    def start_in_background(self, dry_run: bool, delete_untagged: bool,
                            scheduled_for: str | None = None) -> str:
        """Start a collection in a thread of its own; return its run's id once it is recorded
        (so the API can name the run it started). One at a time per process."""
        if not self._running.acquire(timeout=LOCK_WAIT_SECONDS):
            raise Conflict("a garbage collection is already running")
        recorded: queue.Queue = queue.Queue()

        def background() -> None:
            try:
                self.collector.run(dry_run, delete_untagged, scheduled_for=scheduled_for,
                                   on_recorded=recorded.put)
            except Exception as error:
                recorded.put(error)  # read only if the run was never recorded
                log.exception("background garbage collection failed")
            finally:
                self._running.release()

        threading.Thread(target=background, name="gc", daemon=True).start()
        first = recorded.get()
        if isinstance(first, Exception):
            raise first
        return first

    @property
    def progress(self) -> dict:
        return dict(self.collector.progress)


def attach_gc(registry) -> None:
    registry.gc = GcQueries(registry.db)
    registry.projectors.append(Projector(registry.app, registry.db, GcView()))
    registry.gc_lock = gc_lock_for(registry.db)
    registry.collector = GcService(registry)
    registry.gc_schedule_commands = GcScheduleCommands(registry.app)
    registry.gc_scheduler = None  # started by `start` where the role runs workers
