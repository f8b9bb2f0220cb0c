"""Wiring the audit log's rotation (purge runs, their schedule) and its forwarding to syslog
into a registry (ADR 0028)."""

from commands.audit_purge_handlers import AuditPurgeCommands
from domain.errors import BadRequest
from infra.messaging.syslog_client import parse_endpoint
from infra.settings import SettingsError
from projections.audit.purge_view import PurgeQueries, PurgeView
from projections.audit.view import event_types
from projections.projector import Projector
from workers.audit_forwarder import ForwardSettings, disabled_types, forwarder_from_settings
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
    registry.audit_forwarder = forwarder_from_settings(registry.app, registry.db, registry.settings,
                                                       forward=configured_forwarding(registry))
    registry.projectors.append(registry.audit_forwarder)


def configured_forwarding(registry):
    """The forwarder's endpoint and disabled types: the system configuration's keys once an
    administrator set them (ADR 0027), the TIDEMARK_AUDIT_LOG_* settings until then."""
    settings, configuration = registry.settings, registry.configuration

    def forward() -> ForwardSettings:
        endpoint = configuration.explicit("audit_log_forward_endpoint")
        disabled = configuration.explicit("disabled_audit_log_event_types")
        return ForwardSettings(settings.audit_log_forward_endpoint if endpoint is None else endpoint,
                               disabled_types(settings.audit_log_disabled_event_types
                                              if disabled is None else disabled))
    return forward


def start_audit_workers(registry) -> None:
    """Close runs a crash interrupted and start the purge scheduler (the forwarder follows the
    log with the other projectors)."""
    from workers.audit_purge import AuditPurgeScheduler

    registry.audit_purger.close_interrupted()
    registry.audit_purge_scheduler = AuditPurgeScheduler(registry)
    registry.audit_purge_scheduler.start()
