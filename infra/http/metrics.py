"""Prometheus metrics: request counts and latencies, and each projection's lag."""

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily


class ProjectionLagCollector:
    """Reads the projection's position and the log head at scrape time."""

    def __init__(self, registry) -> None:
        self.registry = registry

    def collect(self):
        head = GaugeMetricFamily("tidemark_event_log_head", "Position of the newest event")
        lag = GaugeMetricFamily("tidemark_projection_lag_events",
                                "Events not yet applied to a projection", labels=["projection"])
        newest = self.registry.app.head()
        head.add_metric([], newest)
        for projector in self.registry.projectors:
            lag.add_metric([projector.name], max(newest - projector.position(), 0))
        yield head
        yield lag


class Metrics:
    def __init__(self, registry) -> None:
        self.collectors = CollectorRegistry()
        self.requests = Counter("tidemark_http_requests", "HTTP requests",
                                ["method", "status"], registry=self.collectors)
        self.latency = Histogram("tidemark_http_request_seconds", "HTTP request latency",
                                 ["method"], registry=self.collectors,
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5, 30))
        self.collectors.register(ProjectionLagCollector(registry))
        for collector in getattr(registry, "extra_metrics", ()):  # capabilities' own (proxy cache)
            self.collectors.register(collector)

    def observe(self, method: str, status: int, seconds: float) -> None:
        self.requests.labels(method, str(status)).inc()
        self.latency.labels(method).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.collectors)
