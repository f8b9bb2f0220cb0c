"""The composition root: builds every part of a running registry from settings (the
registry core here; each capability attaches its own parts: identity.py, policies.py,
gc_service.py, webhooks.py).

Tests pass their own parts (blob store, authorizer) instead of the defaults.
"""

from typing import Any, Callable

import anyio.to_thread
import structlog

from commands.application import RegistryApplication
from commands.artifacts.descriptions import RepositoryInfoCommands
from commands.artifacts.handlers import RegistryCommands
from commands.artifacts.messages import CreateProject, Outcome
from commands.project_settings import ProjectSettingsCommands
from domain.base import SYSTEM
from domain.errors import ProjectExists
from infra.auth.authz import Authorizer
from infra.http.pull_gates import PullGates
from infra.settings import Settings
from infra.storage import BlobStore, open_blob_store
from infra.storage.uploads import UploadStaging, open_upload_staging
from infra.store.event_store import event_store_env
from infra.store.setup_lock import setup_lock
from infra.store.sql import Database, open_database
from infra.wiring.admin import ensure_admin
from infra.wiring.audit_service import attach_audit, start_audit_workers
from infra.wiring.configuration import attach_configuration
from infra.wiring.content_trust import attach_content_trust
from infra.wiring.gc_service import attach_gc
from infra.wiring.identity import attach_identity, restore_sign_ins
from infra.wiring.sign_in_modes import attach_sign_in_modes
from infra.wiring.job_service import attach_job_service
from infra.wiring.key_setup import load_keys, private_data_dir
from infra.wiring.policies import attach_policies
from infra.wiring.proxy import attach_proxy, stop_proxy
from infra.wiring.replication import attach_replication, start_replication, stop_replication
from infra.wiring.scanning import attach_scanning, start_scanning, stop_scanning
from infra.wiring.vulnerabilities import attach_vulnerabilities
from infra.wiring.webhooks import attach_webhooks, close_webhooks, delivers_here
from projections.artifact_lists import ArtifactLists
from projections.audit.chain_view import ChainView
from projections.audit.history import HistoryQueries
from projections.audit.queries import AuditQueries
from projections.audit.view import AuditView
from projections.cache import ContentCache, ViewCache
from projections.oci_queries import OciQueries
from projections.oci_view import OciView
from projections.member_periods import MemberPeriods, MemberPeriodView
from projections.project_periods import ProjectPeriods, ProjectPeriodView
from projections.project_settings import ProjectSettings, ProjectSettingsView
from projections.projector import Projector
from workers.pull_recorder import PullRecorder

log = structlog.get_logger("registry")

DEFAULT_PROJECT = "library"
ASYNC_VIEWS = {"audit", "chain", "kafka", "webhook_dispatch", "audit_forward"}  # eventually consistent: no request waits for them


class Registry:
    """Everything a running Tidemark holds: stores, the write side, the read side."""

    def __init__(self, settings: Settings, app: RegistryApplication, db: Database,
                 blobs: BlobStore, authorizer: Authorizer | None = None) -> None:
        self.settings = settings
        self.app = app
        self.db = db
        self.blobs = blobs
        self.external_url = settings.resolved_external_url
        # Mutable lookups are cached only where this process sees every write first.
        self.local_only = not settings.uses_postgres
        self.commands = RegistryCommands(app)
        self.queries = OciQueries(db, cache=ViewCache(enabled=self.local_only))
        self.projector = Projector(app, db, OciView(), on_stale=self.queries.cache.invalidate)
        self.history = HistoryQueries(db)
        self.artifact_lists = ArtifactLists(db)
        self.project_periods = ProjectPeriods(db)
        self.member_periods = MemberPeriods(db)  # who was a member when (members ?at=)
        self.project_settings = ProjectSettings(db)
        self.settings_commands = ProjectSettingsCommands(app)
        self.pull_gates = PullGates(self.project_settings.of)  # capabilities add their gates
        self.audit = AuditQueries(db)
        self.repository_info = RepositoryInfoCommands(app)
        self.pulls = PullRecorder(app)
        self.local_uploads = UploadStaging(settings.data_path / "uploads")
        self.uploads = open_upload_staging(settings, db, blobs, self.local_uploads)
        self.content = ContentCache()
        self.projectors = [self.projector, Projector(app, db, AuditView()),
                           Projector(app, db, ChainView()), Projector(app, db, ProjectPeriodView()),
                           Projector(app, db, ProjectSettingsView()), Projector(app, db, MemberPeriodView())]
        if settings.kafka_bootstrap_servers:  # every public event also goes to Kafka
            from workers.kafka_relay import relay_from_settings

            self.kafka_relay = relay_from_settings(app, db, settings)
            self.projectors.append(self.kafka_relay)
        # Each capability adds its commands, queries, views and workers.
        attach_identity(self, authorizer)
        attach_configuration(self)
        attach_sign_in_modes(self)
        attach_policies(self)
        attach_gc(self)
        attach_webhooks(self)
        attach_job_service(self)
        attach_audit(self)
        attach_vulnerabilities(self)
        attach_content_trust(self)
        attach_scanning(self)
        attach_replication(self)
        attach_proxy(self)  # after replication: proxy projects read its registry endpoints

    async def run(self, handler: Callable[[Any], Outcome], command: Any) -> Outcome:
        """Run a command off the event loop; return once the views the APIs read show its
        events (one trip to a worker thread for both)."""
        def handle_and_catch_up(command: Any) -> Outcome:
            outcome = handler(command)
            if outcome.position is not None:
                self.catch_up_reads()
            return outcome
        return await anyio.to_thread.run_sync(handle_and_catch_up, command)

    def catch_up_reads(self) -> None:
        """Read-your-writes: bring the views the APIs read up to the head of the log (only
        those the new events touch); the audit log and the hash chain follow in the background."""
        head = self.app.head()
        synchronous = [p for p in self.projectors if p.name not in ASYNC_VIEWS]
        since = min(p._known for p in synchronous)
        new = self.app.recorder.select_notifications(start=since + 1, limit=10_000, stop=head)
        topics = {n.topic for n in new}
        for projector in self.projectors:
            if projector.name in ASYNC_VIEWS:
                projector.wake()
            elif len(new) >= 10_000 or not projector.skip_to(head, topics, since):
                projector.catch_up()

    async def run_reachable(self, handler: Callable[[Any], Outcome], command: Any) -> Outcome:
        """Like `run`, for commands that make stored bytes reachable (manifest push, mount):
        they hold the collector's lock shared, so it never sweeps what they reference."""
        def locked(command: Any) -> Outcome:
            with self.gc_lock.shared():
                return handler(command)
        return await self.run(locked, command)

    def catch_up(self) -> None:
        """Bring every query model up to the head of the log."""
        for projector in self.projectors:
            projector.catch_up()

    def start(self, follow: bool = True, role: str = "all") -> None:
        """Set up and catch up the query models; with `follow`, start the background work of
        `role`: `all`; `write` (pull batches, upload expiry); `read` (pull batches);
        `workers` (log followers for every projection, interrupted-GC bookkeeping); `webhooks`
        (only the webhook dispatcher and sender: the child process `tidemark serve` starts)."""
        with setup_lock(self.settings):  # first start: one process of a PostgreSQL cluster at a time
            if follow:
                load_keys(self, role)
            for projector in self.projectors:
                projector.setup()
            if role != "webhooks":
                self.catch_up()
                self._ensure_default_project()
                ensure_admin(self)
                self.catch_up()
                restore_sign_ins(self)
                self.replication_worker.setup()
        if role == "webhooks":  # a process of its own that only dispatches and sends webhooks
            self._start_webhooks(follow)
            return
        if not follow:
            return
        if role in ("all", "write"):
            from infra.wiring.secret_rotation import seal_clear_secrets

            seal_clear_secrets(self)
        if role in ("all", "workers"):
            self.collector.close_interrupted()
            self.retention_runner.close_interrupted()
            from workers.retention_scheduler import RetentionScheduler

            self.retention_scheduler = RetentionScheduler(self)
            self.retention_scheduler.start()
            from workers.gc_scheduler import GcScheduler

            self.gc_scheduler = GcScheduler(self)
            self.gc_scheduler.start()
            start_audit_workers(self)
            for projector in self.projectors:
                projector.start()
            if delivers_here(self.settings, role):
                self.webhook_worker.start()
            start_scanning(self, role)
            start_replication(self, role)
        if role in ("all", "write"):
            from workers.upload_sweeper import UploadSweeper

            self.sweeper = UploadSweeper(self)
            self.sweeper.start()
        if role in ("all", "write", "read"):
            self.pulls.start()
            self.sign_ins.start()

    def _start_webhooks(self, follow: bool) -> None:
        self.webhook_policy_projector.catch_up()
        self.webhook_dispatcher.catch_up()
        if follow:
            self.webhook_dispatcher.start()
            self.webhook_worker.start()

    def _ensure_default_project(self) -> None:
        try:
            self.commands.create_project(CreateProject(DEFAULT_PROJECT, True, SYSTEM))
            log.info("created default project", project=DEFAULT_PROJECT)
        except ProjectExists:
            return
        self.projector.catch_up()

    def close(self) -> None:
        """Stop every thread that uses the stores and wait for each, then close the stores.

        All are asked at once, so they wind down together; a follower's batch in progress
        commits before the database closes (`Database.close` takes the write lock), and
        once the views' database is closed no follower can start a batch that reads the
        log, so the event store closes last."""
        background = [getattr(self, "sweeper", None), self.retention_scheduler,
                      self.gc_scheduler, self.audit_purge_scheduler, self.pulls, self.sign_ins, *self.projectors]
        background = [part for part in background if part is not None]
        for part in background:
            getattr(part, "request_stop", lambda: None)()
        self.webhook_worker.stop()
        stop_scanning(self)
        stop_replication(self)
        stop_proxy(self)
        self.retention_runner.close()
        for part in background:
            part.stop()  # joins; the pull recorder then saves the pulls still pending
        close_webhooks(self)
        self.db.close()
        self.app.close()


def build_registry(settings: Settings, *, blobs: BlobStore | None = None,
                   authorizer: Authorizer | None = None) -> Registry:
    private_data_dir(settings)
    with setup_lock(settings):  # the tables: one process of a PostgreSQL cluster at a time
        app = RegistryApplication(env=event_store_env(settings))
        return Registry(settings, app, open_database(settings), blobs or open_blob_store(settings),
                        authorizer)
