"""Upstream registries of proxy-cache projects: a Distribution client per project and endpoint
version (so a project's `proxy_speed_kb` throttle is shared by all its transfers, and an
edited endpoint gets a fresh client), each project's cap on concurrent upstream requests
(`max_upstream_conn`), and the one call the Distribution client lacks (referrers)."""

import threading
from collections import OrderedDict
from typing import Callable

from domain.errors import TooManyRequests
from infra.replication.distribution import RegistryClient
from infra.replication.errors import Refused

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MAX_CLIENTS = 256


class ConnectionLimits:
    """Per project, at most `limit` upstream requests (or blob streams) at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gates: dict[str, tuple[int, threading.BoundedSemaphore]] = {}

    def acquire(self, project: str, limit: int, wait: float) -> Callable[[], None]:
        """Take one of the project's connections (limit <= 0: no limit), waiting up to `wait`
        seconds; return its release (calling it twice releases once). TooManyRequests (429,
        Retry-After) when none came free."""
        if limit <= 0:
            return lambda: None
        with self._lock:
            current = self._gates.get(project)
            if current is None or current[0] != limit:
                # A changed limit starts a fresh count: requests under the old one finish there.
                current = self._gates[project] = (limit, threading.BoundedSemaphore(limit))
            gate = current[1]
        if not gate.acquire(timeout=wait):
            error = TooManyRequests(f"project {project} has its {limit} upstream connections in use "
                                    f"(max_upstream_conn); try again shortly",
                                    {"project": project, "max_upstream_conn": limit})
            error.retry_after = 1
            raise error
        held = [gate]

        def release() -> None:
            try:
                held.pop().release()
            except IndexError:
                pass
        return release


class Upstreams:
    """Clients to upstream registries, reused across requests (pooled connections, cached
    tokens). `secret_of(endpoint)` opens an endpoint's sealed secret, for that client only."""

    def __init__(self, secret_of: Callable[[dict], str], timeout: float) -> None:
        self._secret_of = secret_of
        self._timeout = timeout
        self._lock = threading.Lock()
        self._clients: OrderedDict[tuple, RegistryClient] = OrderedDict()
        self.limits = ConnectionLimits()

    def client(self, project: str, registry_id: int, endpoint: dict, speed_kb: int) -> RegistryClient:
        key = (project, registry_id, endpoint.get("updated", ""), max(speed_kb, 0))
        with self._lock:
            found = self._clients.get(key)
            if found is not None:
                self._clients.move_to_end(key)
                return found
        try:
            client = RegistryClient(endpoint["url"], username=endpoint.get("access_key", ""),
                                    password=self._secret_of(endpoint), insecure=endpoint.get("insecure", False),
                                    timeout=self._timeout, speed_kb=max(speed_kb, 0),
                                    ca_certificate=endpoint.get("ca_certificate", ""))
        except ValueError as error:
            raise Refused(f"registry endpoint {endpoint.get('name', registry_id)}: {error}") from None
        with self._lock:
            self._clients[key] = client
            while len(self._clients) > MAX_CLIENTS:
                self._clients.popitem(last=False)  # not closed: a stream may still read through it
        return client

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), OrderedDict()
        for client in clients:
            client.close()


def referrers(client: RegistryClient, repository: str, digest: str) -> list[dict]:
    """The upstream's referrers of `digest` ([] where it has no referrers API)."""
    return client.referrers(repository, digest)
