"""Fixtures: a Tidemark app per test on SQLite, PostgreSQL, or S3-backed storage."""

import pytest
from litestar.testing import TestClient

from infra.wiring.app import create_app
from infra.http.logging import configure_logging
from infra.wiring.registry import build_registry
from infra.settings import Settings
from tests.integration.oci_client import OciClient
from tests.integration.servers import free_port, moto_s3, scratch_postgres

configure_logging("json", "warning")

ADMIN_PASSWORD = "Admin-Passw0rd"


@pytest.fixture(scope="module")
def second(tmp_path_factory):
    """A second Tidemark, a real `tidemark serve` process, for a module's replication tests."""
    from tests import processes
    from tests.e2e.conftest import start_tidemark

    workdir = tmp_path_factory.mktemp("second-tidemark")
    server = start_tidemark(workdir, free_port(), workdir / "data")
    try:
        yield server
    finally:
        processes.stop(server.process)


@pytest.fixture(scope="session")
def postgres_url():
    try:
        with scratch_postgres() as url:
            yield url
    except Exception as error:  # pragma: no cover - CI always has PostgreSQL
        pytest.fail(f"PostgreSQL is needed for these tests: {error}")


@pytest.fixture(scope="session")
def s3_endpoint():
    with moto_s3() as endpoint:
        yield endpoint


@pytest.fixture
def settings(tmp_path, backend, request) -> Settings:
    values = {"data_dir": str(tmp_path / "data"), "external_url": "http://registry.test",
              "admin_password": ADMIN_PASSWORD}
    if backend == "postgres":
        url = request.getfixturevalue("postgres_url")
        _reset_postgres(url)
        values["database_url"] = url
    if backend == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        values["storage_url"] = f"s3://tidemark-{tmp_path.name.lower().replace('_', '-')[:40]}/blobs"
        values["s3_endpoint_url"] = endpoint
    return Settings(**values)


def _reset_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture
def registry(settings):
    registry = build_registry(settings)
    yield registry
    registry.close()


@pytest.fixture
def http(registry, settings):
    with TestClient(create_app(settings, registry), base_url="http://registry.test") as client:
        client.headers["authorization"] = basic("admin", ADMIN_PASSWORD)
        yield client


def basic(name: str, secret: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{name}:{secret}".encode()).decode()


@pytest.fixture
def oci(http) -> OciClient:
    return OciClient(http)
