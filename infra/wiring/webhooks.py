"""Wiring webhooks into a registry: the delivery log, commands, queries, views and the sender."""

from typing import Any

from commands.webhooks.handlers import WebhookCommands
from commands.webhooks.log import WebhookDeliveryLog
from infra.store.event_store import event_store_env
from infra.settings import Settings
from infra.store.sql import Database, SQLiteDatabase
from projections.projector import Projector
from projections.webhooks.dispatch_view import dispatch_view
from projections.webhooks.job_view import WebhookJobView
from projections.webhooks.policy_view import WebhookPolicyView
from projections.webhooks.queries import WebhookQueries
from workers.webhooks.dispatcher import WebhookWorker


def delivery_log_env(settings: Settings) -> dict[str, str]:
    """The delivery log's store: its own SQLite file, or its own table in PostgreSQL."""
    env = {k: v for k, v in event_store_env(settings).items() if not k.startswith("AGGREGATE_CACHE")}
    if settings.uses_postgres:
        env["POSTGRES_POOL_SIZE"] = "4"
    else:
        env["SQLITE_DBNAME"] = str(settings.data_path / "webhook_deliveries.sqlite")
    return env


def open_webhook_db(settings: Settings, db: Database) -> Database:
    """Jobs, their statuses and the sender's lease: a SQLite file of their own, so the
    webhook process never competes with the server for the views' write lock; on
    PostgreSQL, the registry's database."""
    if settings.uses_postgres:
        return db
    return SQLiteDatabase(settings.data_path / "webhooks.sqlite")


def delivers_here(settings: Settings, role: str) -> bool:
    """Whether a process of `role` dispatches and sends webhooks."""
    if role == "webhooks":
        return True
    return role in ("all", "workers") and settings.webhook_delivery != "child"


def attach_webhooks(registry: Any) -> None:
    """Policies are read through a view kept current on every write; the dispatcher follows
    the registry's log in the background (it is one of `registry.projectors` where webhooks
    are delivered); job statuses follow the delivery log; the sender starts with them."""
    app, db, settings = registry.app, registry.db, registry.settings
    registry.webhook_db = open_webhook_db(settings, db)
    registry.webhook_log = WebhookDeliveryLog(env=delivery_log_env(settings))
    registry.webhooks = WebhookCommands(app, registry.webhook_log, registry.secrets)
    registry.webhook_queries = WebhookQueries(db, jobs_db=registry.webhook_db)
    registry.webhook_policy_projector = Projector(app, db, WebhookPolicyView())
    registry.webhook_job_projector = Projector(registry.webhook_log, registry.webhook_db,
                                               WebhookJobView())
    registry.webhook_worker = WebhookWorker(registry)
    registry.webhook_dispatcher = Projector(app, registry.webhook_db, dispatch_view(app),
                                            batch=200, on_stale=registry.webhook_worker.wake,
                                            before_round=registry.webhook_worker.pacing.hold)
    for part in (registry.webhook_job_projector, registry.webhook_dispatcher,
                 registry.webhook_worker.lease, registry.webhook_worker.board):
        part.setup()  # their tables are read by every role
    registry.projectors.append(registry.webhook_policy_projector)
    if delivers_here(settings, settings.role):
        registry.projectors.append(registry.webhook_dispatcher)


def close_webhooks(registry: Any) -> None:
    registry.webhook_worker.stop()
    registry.webhook_log.close()
    if registry.webhook_db is not registry.db:
        registry.webhook_db.close()
