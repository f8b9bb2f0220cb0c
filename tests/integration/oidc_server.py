"""A real OpenID provider for the tests: PyPI's oidc-provider-mock, in its own process on a
loopback port (ADR 0043). The tests script it over HTTP: `PUT /users/{sub}` sets a user's
claims (groups included), `POST /users/{sub}/revoke-tokens` revokes their refresh tokens,
and its authorization form signs a subject in (`POST` with `sub`)."""

import subprocess
import sys
from contextlib import contextmanager
from urllib.parse import quote

import httpx

from tests import processes
from tests.integration.servers import free_port, wait_for_port


class OidcServer:
    def __init__(self, url: str) -> None:
        self.url = url

    def set_user(self, sub: str, **claims) -> None:
        assert httpx.put(f"{self.url}/users/{quote(sub, safe='')}", json=claims).status_code == 204

    def revoke(self, sub: str) -> None:
        assert httpx.post(f"{self.url}/users/{quote(sub, safe='')}/revoke-tokens").status_code == 204

    def authorize(self, authorization_url: str, sub: str) -> str:
        """What a person does at the provider's sign-in form: the redirect back (a URL)."""
        assert authorization_url.startswith(self.url), authorization_url
        answer = httpx.post(authorization_url, data={"sub": sub})
        assert answer.status_code in (302, 303), answer.text[:300]
        return answer.headers["location"]


@contextmanager
def oidc_provider(token_max_age: int = 3600):
    port = free_port()
    process = processes.spawn([sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1",
                               "--port", str(port), "--token-max-age", str(token_max_age)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(process, port, "the OpenID provider")
    try:
        yield OidcServer(f"http://127.0.0.1:{port}")
    finally:
        processes.stop(process)
