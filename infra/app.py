"""The app factory: one Litestar application over one Registry."""

import anyio.to_thread
from litestar import Litestar, Response, asgi, get
from litestar.types import Receive, Scope, Send

from infra.health import check_health
from infra.logging import RequestLogMiddleware, configure_logging
from infra.metrics import Metrics
from infra.oci_app import make_oci_app
from infra.registry import Registry, build_registry
from infra.settings import Settings, load_settings


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
        return Response(report, status_code=200 if report["status"] == "healthy" else 503)

    metrics = Metrics(registry)

    @get("/metrics", media_type="text/plain; version=0.0.4")
    async def prometheus() -> bytes:
        return await anyio.to_thread.run_sync(metrics.render)

    def on_startup() -> None:
        registry.start()

    def on_shutdown() -> None:
        if owned:
            registry.close()

    middleware = type("Middleware", (RequestLogMiddleware,), {"observers": [metrics.observe]})
    app = Litestar(route_handlers=[oci, ping, health, prometheus], on_startup=[on_startup],
                   on_shutdown=[on_shutdown], middleware=[middleware],
                   openapi_config=None)
    app.state.registry = registry
    return app


def asgi_app():
    """Entry point for the ASGI server: settings from the environment."""
    settings = load_settings()
    configure_logging(settings.resolved_log_format, settings.log_level)
    return create_app(settings)
