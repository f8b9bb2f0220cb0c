"""Prometheus counters of proxy-cache projects, served by /metrics beside the request
metrics (infra/http/metrics.py registers them from `registry.extra_metrics`)."""

from prometheus_client import Counter

from infra.replication.errors import (
    DigestMismatch, NotFound, Refused, ServerError, TlsError, Unauthorized, Unreachable,
)

OUTCOMES = ((NotFound, "not_found"), (Unreachable, "unreachable"), (TlsError, "tls_error"),
            (ServerError, "server_error"), (Unauthorized, "unauthorized"), (Refused, "refused"),
            (DigestMismatch, "digest_mismatch"))


def outcome_of(error: BaseException) -> str:
    """The `outcome` label of a failed upstream request."""
    for kind, label in OUTCOMES:
        if isinstance(error, kind):
            return label
    return "error"


class ProxyMetrics:
    """Counters not tied to one CollectorRegistry: each /metrics renderer registers them."""

    def __init__(self) -> None:
        self.hits = Counter("tidemark_proxy_cache_hits", "Proxy-cache reads served from the cache",
                            ["project"], registry=None)
        self.misses = Counter("tidemark_proxy_cache_misses",
                              "Proxy-cache reads fetched from the upstream registry", ["project"],
                              registry=None)
        self.upstream = Counter("tidemark_proxy_upstream_requests",
                                "Requests of proxy-cache projects to their upstream registry",
                                ["project", "outcome"], registry=None)

    def collectors(self) -> list:
        return [self.hits, self.misses, self.upstream]

    def hit(self, project: str) -> None:
        self.hits.labels(project).inc()

    def miss(self, project: str) -> None:
        self.misses.labels(project).inc()

    def request(self, project: str, outcome: str) -> None:
        self.upstream.labels(project, outcome).inc()
