"""Wiring replication into a registry: the set-up commands (registries and policies), the
execution commands and view, and the replication worker."""

from typing import Any

from commands.replication.executions import ExecutionCommands
from commands.replication.metadata import MetadataReceiver
from commands.replication.setup import ReplicationSetupCommands
from projections.projector import Projector
from projections.replication.executions import Executions, ExecutionView
from workers.replication.worker import ReplicationWorker


def attach_replication(registry: Any) -> None:
    app, db = registry.app, registry.db
    registry.replication = ReplicationSetupCommands(app, registry.secrets)
    registry.execution_commands = ExecutionCommands(app)
    registry.executions = Executions(db)
    registry.execution_projector = Projector(app, db, ExecutionView())
    registry.projectors.append(registry.execution_projector)
    registry.replication_worker = ReplicationWorker(registry)

    def project_number(name: str) -> int | None:
        row = registry.queries.project_by_key(name, is_name=True)
        return row.project_id if row is not None else None

    registry.metadata_receiver = MetadataReceiver(app, registry.credentials, project_number, registry.secrets,
                                                  registry.settings.webhook_allow_link_local)


def start_replication(registry: Any, role: str) -> None:
    """The worker runs where the log is followed (`all`, `workers`); its table is set up by
    Registry.start for every role."""
    if role in ("all", "workers"):
        registry.replication_worker.start()


def stop_replication(registry: Any) -> None:
    registry.replication_worker.stop()
