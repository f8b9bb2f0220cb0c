"""Wiring scanning into a registry: scanner registrations, scan-run commands, the scan-run
view and the scan worker."""

from typing import Any

from commands.scanning.registrations import ScannerCommands
from commands.scanning.runs import ScanRunCommands
from commands.scanning.scan_all import ScanAllCommands
from projections.projector import Projector
from projections.scanning.runs import ScanRunView, ScanRuns
from workers.scanning.rematch import RematchFollower
from workers.scanning.runner import ScanWorker
from workers.scanning.scan_all import ScanAllExpander, ScanAllScheduler


def attach_scanning(registry: Any) -> None:
    app, db = registry.app, registry.db
    registry.scanners = ScannerCommands(app, registry.secrets)
    registry.scan_commands = ScanRunCommands(app)
    registry.scan_runs = ScanRuns(db)
    registry.scan_run_projector = Projector(app, db, ScanRunView())
    registry.projectors.append(registry.scan_run_projector)
    registry.scan_worker = ScanWorker(registry)
    registry.rematch_follower = RematchFollower(registry)
    registry.scan_all = ScanAllCommands(app)
    registry.scan_all_expander = ScanAllExpander(registry)
    registry.scan_all_scheduler = None


def start_scanning(registry: Any, role: str) -> None:
    """The worker runs where the log is followed (`all`, `workers`)."""
    if role == "all":
        from infra.wiring.builtin_scanner import register_builtin_scanner

        register_builtin_scanner(registry)
    if role in ("all", "workers"):
        registry.scan_worker.start()
        registry.scan_all_scheduler = ScanAllScheduler(registry)
        registry.scan_all_scheduler.start()


def stop_scanning(registry: Any) -> None:
    if registry.scan_all_scheduler is not None:
        registry.scan_all_scheduler.stop()
    registry.scan_worker.stop()
    registry.scan_all_expander.join()
