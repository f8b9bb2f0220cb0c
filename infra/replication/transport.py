"""The HTTP side of a registry client: one pooled `httpx.Client`, authentication, and every
failure turned into one of `errors`, with credentials scrubbed from the message."""

import json
import re
import ssl
import time
from typing import Callable

import certifi
import httpx
import structlog

from infra.replication.auth import Authenticator
from infra.replication.errors import (
    Refused, ReplicationError, TlsError, Unauthorized, error_for_status, error_for_transport,
)
from infra.replication.throttle import Throttle

_LINK_NEXT = re.compile(r'<([^>]*)>\s*;[^,]*\brel="?next"?', re.IGNORECASE)

log = structlog.get_logger("replication")


def ssl_context(insecure: bool, ca_certificate: str) -> ssl.SSLContext | bool:
    """False (no verification) when insecure; else the system store and certifi's, plus
    `ca_certificate` (PEM) when given."""
    if insecure:
        return False
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_default_certs()
    if ca_certificate.strip():
        try:
            context.load_verify_locations(cadata=ca_certificate)
        except (ssl.SSLError, ValueError) as error:
            raise TlsError(f"the configured CA certificate is not valid PEM ({type(error).__name__})")
    return context


class Transport:
    """Requests to one registry at `url`, authenticated as `auth` describes."""

    def __init__(self, url: str, *, username: str, password: str, insecure: bool, timeout: float,
                 speed_kb: int, ca_certificate: str, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        parsed = httpx.URL(url.strip())
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError("registry URL must be http(s)://host[:port][/prefix]")
        port = f":{parsed.port}" if parsed.port else ""
        prefix = parsed.path.rstrip("/")
        self.url = f"{parsed.scheme}://{parsed.host}{port}{prefix}"  # never any userinfo
        self.name = f"{parsed.host}{port}{prefix}"
        self.timeout = timeout
        self.sleep = sleep
        self.throttle = Throttle(speed_kb, clock=clock, sleep=sleep)
        self.auth = Authenticator(self.name, username, password, clock=clock)
        self.http = httpx.Client(verify=ssl_context(insecure, ca_certificate),
                                 timeout=httpx.Timeout(timeout),
                                 headers={"User-Agent": "tidemark-replication"})

    def close(self) -> None:
        self.http.close()

    def v2(self, path: str) -> str:
        return f"{self.url}/v2/{path}"

    def exchange(self, method: str, url, what: str, *, scopes: tuple[str, ...] = (),
                 headers: dict[str, str] | None = None, body=None, stream: bool = False,
                 follow: bool = False) -> httpx.Response:
        """One authenticated request; the answer whatever its status, except a 401 after the
        challenge was answered (Unauthorized). `body` is bytes, or a callable giving a fresh
        iterable of bytes (called again if the request must be sent again)."""
        sent = self.auth.authorization(scopes, self._fetch_token)
        for attempt in (1, 2):
            request_headers = dict(headers or {})
            if sent:
                request_headers["Authorization"] = sent
            content = body() if callable(body) else body
            request = self.http.build_request(method, url, headers=request_headers, content=content)
            try:
                response = self.http.send(request, stream=stream, follow_redirects=follow)
            except httpx.TransportError as error:
                raise self.transport_error(error, what) from error
            if response.status_code != 401:
                return response
            self.read(response, what)
            if attempt == 2:
                break
            sent = self.auth.answer(response.headers.get("www-authenticate"), scopes, sent,
                                    self._fetch_token)
        who = f"user {self.auth.username!r}" if self.auth.username else "anonymous access"
        raise Unauthorized(f"registry {self.name} refused {who} for {what} (HTTP 401)")

    def _fetch_token(self, realm: str, params: list[tuple[str, str]],
                     authorization: str | None) -> httpx.Response:
        headers = {"Authorization": authorization} if authorization else {}
        try:
            return self.http.get(realm, params=params, headers=headers)
        except httpx.TransportError as error:
            raise self.transport_error(error, "token request") from error

    # -- answers ----------------------------------------------------------------

    def expect(self, response: httpx.Response, what: str, *statuses: int) -> httpx.Response:
        """`response` when its status is one of `statuses`, else the error it means."""
        if response.status_code in statuses:
            return response
        self.read(response, what)
        raise self.status_error(response, what)

    def status_error(self, response: httpx.Response, what: str) -> ReplicationError:
        failure = error_for_status(response, self.name, what)
        return type(failure)(self.auth.scrub(str(failure)))

    def transport_error(self, error: httpx.TransportError, what: str) -> ReplicationError:
        failure = error_for_transport(error, self.name, what, self.timeout)
        return type(failure)(self.auth.scrub(str(failure)))

    def read(self, response: httpx.Response, what: str) -> bytes:
        """The whole body of `response`, which is closed afterwards."""
        try:
            return response.read()
        except httpx.TransportError as error:
            raise self.transport_error(error, what) from error
        finally:
            response.close()

    def read_limited(self, response: httpx.Response, what: str, limit: int) -> bytes:
        parts, total = [], 0
        try:
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > limit:
                    raise Refused(f"registry {self.name} answered {what} with more than {limit} bytes")
                parts.append(chunk)
        except httpx.TransportError as error:
            raise self.transport_error(error, what) from error
        finally:
            response.close()
        return b"".join(parts)

    def json(self, response: httpx.Response, what: str) -> dict:
        try:
            answer = json.loads(self.read(response, what))
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise Refused(f"registry {self.name} answered {what} with something other than JSON")
        return answer

    def next_page(self, response: httpx.Response) -> str | None:
        """The `rel="next"` Link of a page, resolved; only on this registry's own origin."""
        match = _LINK_NEXT.search(response.headers.get("link", ""))
        if match is None:
            return None
        current = response.request.url
        following = current.join(match.group(1))
        if (following.scheme, following.host, following.port) != (current.scheme, current.host, current.port):
            raise Refused(f"registry {self.name} paginates to another host")
        return None if following == current else str(following)

    def location(self, response: httpx.Response, what: str,
                 default: httpx.URL | None = None) -> httpx.URL:
        """The Location an upload answer names, resolved against the registry URL."""
        location = response.headers.get("location")
        if not location:
            if default is not None:
                return default
            raise Refused(f"registry {self.name} answered {what} without a Location")
        url = httpx.URL(self.url + "/").join(location)
        if url.scheme == "http" and self.url.startswith("https:"):
            raise Refused(f"registry {self.name} sent an upload to a plain http URL")
        return url

    def cancel_upload(self, location: httpx.URL, repository: str, what: str) -> None:
        """Best effort: an upload session nobody will finish."""
        try:
            self.exchange("DELETE", location, f"cancel upload ({what})",
                          scopes=(f"repository:{repository}:pull,push",)).close()
        except ReplicationError as error:
            log.info("could not cancel an upload session", registry=self.name, error=str(error))
