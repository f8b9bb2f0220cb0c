"""The upstream side of proxy-cache projects: clients to the proxied registries, each
project's connection limit, and the proxy's metrics (ADR 0037)."""
