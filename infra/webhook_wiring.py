"""Wiring webhooks into a registry: the delivery log, commands, queries, views and the sender."""

from typing import Any

from commands.webhook_handlers import WebhookCommands
from commands.webhook_log import WebhookDeliveryLog
from infra.event_store import event_store_env
from infra.settings import Settings
from projections.projector import Projector
from projections.webhook_dispatch_view import dispatch_view
from projections.webhook_job_view import WebhookJobView
from projections.webhook_policy_view import WebhookPolicyView
from projections.webhook_queries import WebhookQueries
from workers.webhooks import WebhookWorker


def delivery_log_env(settings: Settings) -> dict[str, str]:
    """The delivery log's store: its own SQLite file, or its own table in PostgreSQL."""
    env = {k: v for k, v in event_store_env(settings).items() if not k.startswith("AGGREGATE_CACHE")}
    if settings.uses_postgres:
        env["POSTGRES_POOL_SIZE"] = "4"
    else:
        env["SQLITE_DBNAME"] = str(settings.data_path / "webhook_deliveries.sqlite")
    return env


def attach_webhooks(registry: Any) -> None:
    """Policies are read through a view kept current on every write; the dispatcher follows
    the registry's log in the background (it is one of `registry.projectors`); job statuses
    follow the delivery log; the sender starts with the workers."""
    app, db = registry.app, registry.db
    registry.webhook_log = WebhookDeliveryLog(env=delivery_log_env(registry.settings))
    registry.webhooks = WebhookCommands(app, registry.webhook_log)
    registry.webhook_queries = WebhookQueries(db)
    registry.webhook_policy_projector = Projector(app, db, WebhookPolicyView())
    registry.webhook_job_projector = Projector(registry.webhook_log, db, WebhookJobView())
    registry.webhook_job_projector.setup()  # its tables are read by every role
    registry.webhook_worker = WebhookWorker(registry)
    registry.webhook_worker.lease.setup()
    registry.webhook_worker.board.setup()
    dispatcher = Projector(app, db, dispatch_view(app), batch=200,
                           on_stale=registry.webhook_worker.wake)
    registry.projectors += [registry.webhook_policy_projector, dispatcher]


def close_webhooks(registry: Any) -> None:
    registry.webhook_worker.stop()
    registry.webhook_log.close()
