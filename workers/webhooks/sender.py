"""HTTP delivery of one webhook attempt (aiohttp, asynchronous, with timeouts).

aiohttp rather than httpx: on the benchmark machine httpx's asynchronous client
spent 1.3-2.2 ms of CPU per request (its connection pool checks every pooled
connection on each request, through anyio) against 0.17-0.24 ms for aiohttp,
and the sender shares the registry's interpreter (docs/adr/0008-webhooks.md).

Before connecting, the target's host is resolved and refused if any address is
link-local or a cloud metadata address (unless `webhook_allow_link_local`): a
policy checked at creation could otherwise reach them through a DNS name.
"""

import asyncio
import socket
import ssl
import time
from urllib.parse import urlsplit

import aiohttp

from domain.webhooks.targets import METADATA_HOSTS, forbidden_address, literal_address

USER_AGENT = "Tidemark-Webhook/1"
PER_HOST = 8  # connections per target host, so one slow receiver cannot hold them all
DNS_TTL = 30.0
MAX_BODY = 64 * 1024  # of a receiver's answer, read only to keep the connection


class Attempt:
    """What one attempt came to: an answer's status code (0 when none), an error, a refusal."""

    __slots__ = ("status_code", "error", "duration_ms", "refused")

    def __init__(self, status_code: int, error: str, duration_ms: int, refused: bool = False) -> None:
        self.status_code = status_code
        self.error = error
        self.duration_ms = duration_ms
        self.refused = refused


class Sender:
    """Requests beyond a host's connections wait for one of them; the worker bounds the
    total in flight. Redirects are not followed."""

    def __init__(self, timeout: float, allow_link_local: bool, per_host: int = PER_HOST) -> None:
        self.timeout = timeout
        self.allow_link_local = allow_link_local
        self.per_host = per_host
        self._sessions: dict[bool, aiohttp.ClientSession] = {}
        self._resolved: dict[tuple[str, int], tuple[float, bool]] = {}
        self._static: dict[str, str] = {}

    def _session(self, verify: bool) -> aiohttp.ClientSession:
        session = self._sessions.get(verify)
        if session is None:
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=self.per_host,
                                             ssl=None if verify else False, ttl_dns_cache=DNS_TTL)
            session = self._sessions[verify] = aiohttp.ClientSession(
                connector=connector, trust_env=False, auto_decompress=False,
                # Per connect and per read, not in total: waiting for one of a slow host's
                # connections is not the request timing out.
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.timeout,
                                              sock_read=self.timeout))
        return session

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()

    async def refused(self, address: str) -> str:
        """Why the address may not be reached now ('' if it may)."""
        if self.allow_link_local:
            return ""
        static = self._static.get(address)  # metadata names and literal addresses never change
        if static is not None:
            return static
        parts = urlsplit(address)
        host = (parts.hostname or "").rstrip(".").lower()
        if host in METADATA_HOSTS:
            return self._remember(address, f"{host} is a cloud metadata host")
        ip = literal_address(host)
        if ip is not None:
            return self._remember(address, f"{ip} is a link-local or metadata address"
                                  if forbidden_address(ip) else "")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        cached = self._resolved.get((host, port))
        if cached is not None and cached[0] > time.monotonic():
            return f"{host} resolves to a link-local address" if cached[1] else ""
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            return ""  # the connection attempt reports the failure (and is retried)
        resolved = [literal_address(info[4][0].split("%")[0]) for info in infos]
        bad = any(ip is not None and forbidden_address(ip) for ip in resolved)
        self._resolved[(host, port)] = (time.monotonic() + DNS_TTL, bad)
        return f"{host} resolves to a link-local address" if bad else ""

    def _remember(self, address: str, why: str) -> str:
        if len(self._static) > 10_000:
            self._static.clear()
        self._static[address] = why
        return why

    async def post(self, address: str, body: bytes, headers: dict[str, str],
                   skip_cert_verify: bool) -> Attempt:
        """One POST; never raises."""
        why = await self.refused(address)
        if why:
            return Attempt(0, f"refused: {why} (setting webhook_allow_link_local allows it)", 0,
                           refused=True)
        session = self._session(verify=not skip_cert_verify)
        started = time.perf_counter()
        try:
            async with session.post(address, data=body, allow_redirects=False,
                                    headers={"User-Agent": USER_AGENT, **headers}) as response:
                status = response.status
                await response.content.read(MAX_BODY)  # the rest, if any, closes the connection
            return Attempt(status, "" if 200 <= status < 300 else f"HTTP {status}", _ms(started))
        except asyncio.TimeoutError:
            return Attempt(0, f"timed out after {self.timeout:g} s", _ms(started))
        except (aiohttp.ClientError, OSError, ssl.SSLError, ValueError) as error:
            return Attempt(0, f"{type(error).__name__}: {error}"[:300], _ms(started))


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
