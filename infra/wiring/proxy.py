"""Wiring proxy-cache projects into a registry (ADR 0037): the view of which project proxies
which registry endpoint (read on the OCI paths, cached where this process sees every write),
the upstream clients, the counters /metrics serves, and the threads that store what was
pulled through."""

from typing import Any

from infra.proxy.metrics import ProxyMetrics
from infra.proxy.service import ProxyService
from infra.proxy.upstream import Upstreams
from projections.cache import ViewCache
from projections.projector import Projector
from projections.proxy_projects import ProxyProjects, ProxyProjectView
from workers.proxy_cache.filler import ProxyFiller


def attach_proxy(registry: Any) -> None:
    settings = registry.settings
    cache = ViewCache(enabled=registry.local_only)
    registry.projectors.append(Projector(registry.app, registry.db, ProxyProjectView(),
                                         on_stale=cache.invalidate))
    metrics = ProxyMetrics()
    registry.extra_metrics = [*getattr(registry, "extra_metrics", []), *metrics.collectors()]
    registry.proxy = ProxyService(registry, ProxyProjects(registry.db, cache),
                                  Upstreams(registry.replication.secret, settings.proxy_upstream_timeout_seconds),
                                  metrics)
    registry.proxy.filler = ProxyFiller(registry, settings.proxy_cache_workers,
                                        settings.proxy_cache_fill_delay_seconds)


def stop_proxy(registry: Any) -> None:
    """Stop the caching threads (a fetch in progress stops at its next chunk) and close the
    upstream clients; before the stores close."""
    registry.proxy.close()
