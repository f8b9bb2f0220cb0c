"""The app factory: one Litestar application over one Registry."""

import anyio.to_thread
from litestar import Litestar, Response, asgi, get
from litestar.types import Receive, Scope, Send

from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from infra.wiring.health import check_health
from infra.wiring.parent_watch import exit_with_server
from infra.http.rest import EXCEPTION_HANDLERS, harbor_answer
from infra.http.listing import default_empty_paging
from infra.http.rest_guard import guard_routes
from infra.http.rest_request import CheckedRequest
from read_api.projects import projects as read_projects
from read_api import rest_robots as read_robots
from read_api import rest_users as read_users
from read_api import rest_usergroups as read_usergroups
from write_api import rest_projects as write_projects
from read_api.projects import metadata as read_metadata
from write_api import rest_project_metadata as write_metadata
from write_api import rest_robots as write_robots
from write_api.rest_robot_trust import set_robot_trust
from write_api import rest_users as write_users
from write_api import rest_usergroups as write_usergroups
from read_api.artifacts import artifacts as read_artifacts
from read_api.projects.summary import project_deletable, project_summary
from read_api.rest_repositories import list_all_repositories
from read_api import rest_webhooks as read_webhooks
from write_api import rest_webhooks as write_webhooks
from read_api.event_feed import list_events, stream_events
from read_api.rest_configurations import get_configurations
from write_api.rest_configurations import update_configurations, update_cve_allowlist
from read_api import rest_ldap as read_ldap
from write_api import rest_ldap as write_ldap
from read_api.rest_cve_allowlist import get_cve_allowlist
from read_api.scanning import cve_export as read_cve_export, security_hub, vulnerabilities as read_vulnerabilities
from write_api import rest_cve_export as write_cve_export
from read_api.audit.logs import audit_logs, project_changes, project_logs
from read_api.audit import extended as rest_audit_ext
from read_api.audit import purge as read_purge
from write_api import rest_purge as write_purge
from read_api.rest_immutability import list_rules
from read_api import rest_retention as read_retention
from write_api import rest_retention as write_retention
from read_api.rest_gc import gc_history, gc_log, gc_schedule, gc_status
from read_api.artifacts.accessories import list_accessories
from read_api.artifacts.additions import get_addition
from read_api.artifacts.manifest_view import get_manifest
from read_api.artifacts.project_artifacts import list_project_artifacts
from read_api.rest_labels import get_label, list_labels
from read_api.rest_system import search, statistics, system_info, system_volumes
from read_api.rest_icons import get_icon
from write_api import rest_labels
from write_api.rest_copy import copy_artifact
from read_api.rest_quotas import get_quota, list_quotas
from write_api.rest_gc import start_gc, stop_gc, update_gc_schedule
from write_api.rest_quotas import update_quota
from write_api import rest_immutability
from read_api import rest_jobservice as read_jobservice
from write_api.rest_jobservice import queue_action
from write_api import rest_artifacts as write_artifacts
from write_api.token_service import issue_token
from write_api import portal_sessions
from write_api import oidc_sign_in
from read_api import portal
from read_api.signing import pull_decision, trusted_keys as read_trusted_keys
from write_api import rest_trusted_keys as write_trusted_keys
from read_api.replication import executions as read_executions, policies as read_policies, registries as read_registries
from read_api.replication import metadata as read_metadata_replication
from write_api.replication import executions as write_executions, policies as write_policies, registries as write_registries
from write_api.replication import metadata as write_metadata_replication
from read_api.scanning import scanners as read_scanners
from write_api.scanning import scanners as write_scanners
from write_api.scanning import scans as write_scans
from read_api.scanning import scan_all as read_scan_all
from write_api.scanning import scan_all as write_scan_all
from infra.http.logging import RequestLogMiddleware, configure_logging
from infra.http.metrics import Metrics
from infra.wiring.oci_app import make_oci_app
from infra.wiring.registry import Registry, build_registry
from infra.settings import Settings, load_settings
from infra.http.slow_clients import BodyTimeoutMiddleware
from infra.http.read_only_mode import ReadOnlyMode


def create_app(settings: Settings | None = None, registry: Registry | None = None) -> Litestar:
    """Build the HTTP application; start the registry when the server starts."""
    settings = settings or load_settings()
    owned = registry is None
    registry = registry or build_registry(settings)
    oci_handler = make_oci_app(registry)

    @asgi("/v2", is_mount=True, copy_scope=False)
    async def oci(scope: Scope, receive: Receive, send: Send) -> None:
        await oci_handler(scope, receive, send)

    @get("/api/v2.0/ping", media_type="text/plain", sync_to_thread=False)
    def ping() -> str:
        return "Pong"

    @get("/api/v2.0/health")
    async def health() -> Response:
        report = await anyio.to_thread.run_sync(check_health, registry)
        return Response(report, status_code=503 if report["status"] == "unhealthy" else 200)

    metrics = Metrics(registry)

    @get("/metrics", media_type="text/plain; version=0.0.4")
    async def prometheus() -> bytes:
        return await anyio.to_thread.run_sync(metrics.render)

    def on_startup() -> None:
        registry.start(role=settings.role)

    def on_shutdown() -> None:
        if owned:
            registry.close()

    middleware = type("Middleware", (RequestLogMiddleware,), {
        "observers": [metrics.observe, registry.webhook_worker.pacing.observe_request]})
    rest = [
        read_users.list_users, read_users.search_users, read_users.current_user,
        read_users.current_permissions, read_users.get_user,
        write_users.create_user, write_users.update_profile, write_users.change_password,
        write_users.set_cli_secret,
        write_users.set_sysadmin, write_users.set_enabled, write_users.delete_user,
        read_projects.list_projects, read_projects.project_exists, read_projects.get_project,
        read_projects.list_members, read_projects.get_member,
        write_projects.create_project, write_projects.update_project, write_projects.delete_project,
        write_projects.add_member, write_projects.change_role, write_projects.remove_member,
        read_robots.list_robots, read_robots.get_robot, read_robots.robot_permissions,
        write_robots.create_robot, write_robots.update_robot, write_robots.refresh_secret,
        write_robots.delete_robot, read_robots.get_robot_trust, set_robot_trust, list_events, stream_events,
        *read_webhooks.ROUTES, *write_webhooks.ROUTES,
        read_artifacts.list_repositories, read_artifacts.get_repository, read_artifacts.list_artifacts,
        read_artifacts.get_artifact, read_artifacts.list_tags, read_artifacts.tag_history, list_project_artifacts,
        write_artifacts.delete_repository, write_artifacts.delete_artifact, write_artifacts.add_tag,
        write_artifacts.delete_tag, write_artifacts.undelete_artifact, write_artifacts.restore_tag,
        audit_logs, project_logs, project_changes, list_rules, rest_immutability.create_rule,
        rest_immutability.update_rule, rest_immutability.delete_rule,
        list_quotas, get_quota, update_quota, gc_history, gc_status, gc_log, start_gc, stop_gc, gc_schedule,
        update_gc_schedule,
        system_info, system_volumes, get_icon, statistics, search, copy_artifact, list_labels, get_label,
        rest_labels.create_label, rest_labels.update_label, rest_labels.delete_label,
        rest_labels.add_artifact_label, rest_labels.remove_artifact_label, list_accessories,
        read_retention.retention_metadata, read_retention.get_retention,
        read_retention.list_retention_executions, read_retention.list_retention_tasks,
        read_retention.retention_task_log, write_retention.create_retention, write_retention.update_retention,
        write_retention.delete_retention, write_retention.start_retention, write_retention.stop_retention,
        write_artifacts.update_repository, list_all_repositories, project_summary, project_deletable,
        get_addition, get_manifest,
        read_metadata.list_metadata, read_metadata.get_metadata, write_metadata.add_metadata,
        write_metadata.update_metadata, write_metadata.delete_metadata,
        read_jobservice.worker_pools, read_jobservice.pool_workers, read_jobservice.job_queues,
        read_jobservice.job_log, read_jobservice.list_schedules, read_jobservice.schedule_paused, queue_action,
        *rest_audit_ext.ROUTES, *read_purge.ROUTES, *write_purge.ROUTES,
        get_configurations, update_configurations, get_cve_allowlist, update_cve_allowlist,
        *read_ldap.ROUTES, *write_ldap.ROUTES,
        *read_vulnerabilities.ROUTES, *security_hub.ROUTES, *read_cve_export.ROUTES, *write_cve_export.ROUTES,
        read_trusted_keys.list_trusted_keys, read_trusted_keys.get_trusted_key, write_trusted_keys.add_trusted_key,
        write_trusted_keys.remove_trusted_key, pull_decision.pull_decision,
        *read_scanners.ROUTES, *write_scanners.ROUTES, *write_scans.ROUTES, *read_scan_all.ROUTES,
        *write_scan_all.ROUTES,
        *read_registries.ROUTES, *write_registries.ROUTES, *read_policies.ROUTES, *write_policies.ROUTES,
        *read_executions.ROUTES, *write_executions.ROUTES, *read_metadata_replication.ROUTES,
        *write_metadata_replication.ROUTES, portal_sessions.sign_in, portal_sessions.sign_out,
        *oidc_sign_in.ROUTES,
        *portal.ROUTES, *read_usergroups.ROUTES, *write_usergroups.ROUTES,
    ]
    # logging_config=None: Tidemark logs through structlog; Litestar's default logging config
    # starts a QueueListener thread per app that nothing stops (tests build hundreds of apps).
    guard_routes([ping, health, prometheus, issue_token, *rest])
    app = Litestar(route_handlers=[oci, ping, health, prometheus, issue_token, *rest],
                   on_startup=[on_startup], on_shutdown=[on_shutdown],
                   exception_handlers=EXCEPTION_HANDLERS, after_request=harbor_answer, logging_config=None,
                   request_class=CheckedRequest,
                   # The schema only (no viewer page: those load their scripts from a CDN).
                   openapi_config=OpenAPIConfig(title="Tidemark", version="2.0", path="/api/v2.0",
                                                render_plugins=[JsonRenderPlugin()]))
    app.state.registry = registry
    # Outside the router, so every request (routed or not) gets its id and log line.
    handler = read_only(app.asgi_handler) if settings.role == "read" else app.asgi_handler
    handler = ReadOnlyMode(handler, lambda: registry.configuration.value("read_only"))
    handler = BodyTimeoutMiddleware(default_empty_paging(handler), settings.body_timeout_seconds,
                                    settings.body_min_bytes)
    app.asgi_handler = middleware(handler)
    if settings.trusted_proxies:  # outermost: the request log and every event see the client
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.asgi_handler = ProxyHeadersMiddleware(app.asgi_handler, settings.trusted_proxies)
    return app


def read_only(app):
    """A read replica (`--role read`) refuses changes; its load balancer sends them elsewhere."""
    async def guard(scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            body = (b'{"errors":[{"code":"UNSUPPORTED","message":"this is a read replica '
                    b'(--role read); send changes to a write node"}]}')
            await send({"type": "http.response.start", "status": 405,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)
    return guard


def asgi_app():
    """Entry point for the ASGI server: settings from the environment."""
    from infra.wiring.serve import announce

    settings = load_settings()
    configure_logging(settings.resolved_log_format, settings.log_level)
    exit_with_server()
    app = create_app(settings)
    app.on_startup.append(lambda: announce(settings))  # once the registry has started
    return app
