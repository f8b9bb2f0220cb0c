"""Scale-out roles on PostgreSQL: a read replica refuses changes and reads what a write
node just wrote; a workers process keeps the background views current."""

import pytest
from litestar.testing import TestClient

from infra.wiring.app import create_app
from infra.wiring.registry import build_registry
from tests.integration.conftest import ADMIN_PASSWORD, basic

pytestmark = pytest.mark.postgres


@pytest.fixture
def backend():
    return "postgres"


@pytest.fixture
def settings(settings):
    """The node the tests push through is a write node: no log followers of its own."""
    import msgspec

    return msgspec.structs.replace(settings, role="write")


def test_read_replica_refuses_writes_and_reads_a_fresh_push(http, oci, settings):
    import msgspec

    replica_settings = msgspec.structs.replace(settings, role="read")
    replica = build_registry(replica_settings)
    with TestClient(create_app(replica_settings, replica), base_url="http://registry.test") as client:
        client.headers["authorization"] = basic("admin", ADMIN_PASSWORD)
        refused = client.post("/v2/library/app/blobs/uploads/")
        assert refused.status_code == 405 and refused.json()["errors"][0]["code"] == "UNSUPPORTED"
        digest, body = oci.push_image("library/app", "v1")  # through the write node
        assert client.get("/v2/library/app/manifests/v1").content == body
    replica.close()


def test_workers_role_brings_the_audit_log_up_to_date(oci, registry, settings):
    import time

    import msgspec

    workers = build_registry(msgspec.structs.replace(settings, role="workers"))
    workers.start(follow=True, role="workers")
    try:
        oci.push_image("library/app", "v1")  # through the write node, which runs no followers
        head = registry.app.head()
        audit = next(p for p in workers.projectors if p.name == "audit")
        for _ in range(100):
            if audit.position() >= head:
                break
            time.sleep(0.05)
        assert audit.position() >= head
    finally:
        workers.close()
