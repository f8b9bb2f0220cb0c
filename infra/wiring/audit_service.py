"""Wiring the audit log's rotation (purge runs, their schedule) and its forwarding to syslog
into a registry (ADR 0028)."""

from commands.audit_purge_handlers import AuditPurgeCommands
from domain.errors import BadRequest
from infra.messaging.syslog_client import parse_endpoint
from infra.settings import SettingsError
from projections.audit.purge_view import PurgeQueries, PurgeView
from projections.audit.view import event_types
from projections.projector import Projector
from workers.audit_forwarder import forwarder_from_settings
from workers.audit_purge import AuditPurger


def attach_audit(registry) -> None:
    registry.audit_purges = PurgeQueries(registry.db)
    registry.projectors.append(Projector(registry.app, registry.db, PurgeView()))
    registry.audit_purge_commands = AuditPurgeCommands(registry.app)
    registry.audit_purger = AuditPurger(registry)
    registry.audit_event_types = event_types
    registry.audit_purge_scheduler = None  # started by `start` where the role runs workers
    endpoint = registry.settings.audit_log_forward_endpoint
    if endpoint:
        try:
            parse_endpoint(endpoint)
        except BadRequest:
            raise SettingsError("invalid setting TIDEMARK_AUDIT_LOG_FORWARD_ENDPOINT: expected host:port, "
                                "tcp://host:port or udp://host:port") from None
    # The /configurations view will give the forwarder its endpoint and disabled types: pass
    # `forward=` here (a callable returning ForwardSettings) once it exists.
    registry.audit_forwarder = forwarder_from_settings(registry.app, registry.db, registry.settings)
    registry.projectors.append(registry.audit_forwarder)


def start_audit_workers(registry) -> None:
    """Close runs a crash interrupted and start the purge scheduler (the forwarder follows the
    log with the other projectors)."""
    from workers.audit_purge import AuditPurgeScheduler

    registry.audit_purger.close_interrupted()
    registry.audit_purge_scheduler = AuditPurgeScheduler(registry)
    registry.audit_purge_scheduler.start()
