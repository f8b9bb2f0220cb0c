"""What the Harbor client suite shares: a client factory, a named-call helper and the pushed image.

`call(name, awaitable)` runs one client call and, when it raises, fails the test with the call's
name and the server's answer (or pydantic's validation text), so a report names each broken call.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

from . import oci_images
from .conftest import ADMIN_PASSWORD, RunningRegistry, Skopeo

PROJECT = "hc"
REPOSITORY = "app"


@dataclass(frozen=True)
class World:
    registry: RunningRegistry
    project_id: int
    digest: str  # the single-platform image pushed as hc/app:v1

    @property
    def url(self) -> str:
        return f"http://{self.registry.host}/api/v2.0"


def harbor_client(world: World, username: str = "admin", secret: str = ADMIN_PASSWORD):
    from harborapi import HarborAsyncClient

    # retry=None: a failing call is reported at once, not retried with backoff
    return HarborAsyncClient(url=world.url, username=username, secret=secret, retry=None,
                             timeout=30)


async def call(name: str, awaitable: Awaitable[Any]) -> Any:
    """Await one client call; a failure names the call and says what the server answered."""
    from harborapi.exceptions import StatusError
    from pydantic import ValidationError

    try:
        return await awaitable
    except StatusError as error:
        details = "; ".join(f"{e.code}: {e.message}" for e in (error.errors or []))
        status = getattr(error, "status_code", None)
        pytest.fail(f"{name}: HTTP {status} {details or error}", pytrace=False)
    except ValidationError as error:
        pytest.fail(f"{name}: the answer does not validate: {error}", pytrace=False)
    except Exception as error:  # noqa: BLE001 - any other client failure, by name
        pytest.fail(f"{name}: {type(error).__name__}: {error}", pytrace=False)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


def push_world(registry: RunningRegistry, tmp: Path) -> World:
    """Project `hc` (public) with hc/app:v1, pushed by skopeo as admin."""
    import httpx

    if registry.target != "tidemark":
        pytest.skip("the Harbor API is Tidemark's")
    if shutil.which("skopeo") is None:
        pytest.fail("skopeo is not installed (make test-deps installs it)")
    registry.create_project(PROJECT, public=True)
    image = oci_images.build_image(tmp / "layout", tag="v1", seed=13)
    (tmp / "skopeo-config").mkdir()
    skopeo = Skopeo(tmp / "skopeo-config", registry)
    skopeo.login("admin", ADMIN_PASSWORD)
    skopeo.copy(f"oci:{image.layout_dir}:v1", registry.ref(f"{PROJECT}/{REPOSITORY}", "v1"))
    answer = httpx.get(f"http://{registry.host}/api/v2.0/projects/{PROJECT}",
                       auth=("admin", ADMIN_PASSWORD), timeout=30)
    assert answer.status_code == 200, answer.text
    return World(registry, answer.json()["project_id"], image.manifest_digest)


@pytest.fixture(scope="session")
def world(_registry_server: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> World:
    """Once for both Harbor client modules (they share the session's server): each module that
    imports this fixture gets its own definition of it, so the pushed world is kept here."""
    if _registry_server.host not in _WORLDS:
        _WORLDS[_registry_server.host] = push_world(_registry_server,
                                                    tmp_path_factory.mktemp("harbor-client"))
    return _WORLDS[_registry_server.host]


_WORLDS: dict[str, World] = {}
