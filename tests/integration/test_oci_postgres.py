import pytest

from tests.integration.oci_contract import OciContract

pytestmark = pytest.mark.postgres


@pytest.fixture
def backend():
    return "postgres"


class TestOciOnPostgres(OciContract):
    pass
