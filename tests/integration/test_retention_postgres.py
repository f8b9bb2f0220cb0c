"""The main tag retention flow on PostgreSQL: dry run, real run, causes on the deletions."""

import pytest

from tests.integration.retention_flows import keeps_the_three_newest_of_twenty

pytestmark = pytest.mark.postgres


@pytest.fixture
def backend():
    return "postgres"


def test_keep_three_most_recently_pushed_dry_run_then_real_run(http, oci, registry):
    keeps_the_three_newest_of_twenty(http, oci, registry)
