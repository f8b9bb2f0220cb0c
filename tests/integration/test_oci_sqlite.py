import pytest

from tests.integration.oci_contract import OciContract


@pytest.fixture
def backend():
    return "sqlite"


class TestOciOnSQLite(OciContract):
    pass
