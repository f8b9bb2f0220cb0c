"""Only one scan worker works at a time (the `scan-worker` lease): a second one, as another
process that follows the log would start, stands by, sends nothing, and takes over the open
runs once the first one stops."""

import pytest

from tests.integration.fake_scanner import FakeScanner
from tests.integration.test_scanning import project, register, scan
from tests.integration.webhook_receivers import wait_until
from workers.scanning.runner import ScanWorker


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def test_a_standby_scan_worker_sends_nothing_until_the_holder_stops(http, registry, oci):
    project(http, "p1")
    digest, _ = oci.push_image("p1/app", "v1")
    standby = ScanWorker(registry)
    with FakeScanner("forever") as fake:
        register(http, fake.url)
        standby.start()
        try:
            assert scan(http).status_code == 202
            wait_until(lambda: fake.polls, 20)
            assert not standby.lease.acquire()  # the registry's own worker holds it
            assert len(fake.requests) == 1
            registry.scan_worker.stop()  # lets the lease go
            fake.mode = "ok"
            row = wait_until(lambda: (lambda r: r if r.status == "Success" else None)(
                registry.scan_runs.latest("p1/app", digest, 1, "vulnerability")), 30)
            assert row.status == "Success"
            assert standby.lease.acquire()
            assert len(fake.requests) == 1  # resumed from its recorded state, not sent again
        finally:
            standby.stop()
