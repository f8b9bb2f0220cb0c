import pytest

from tests.integration.oci_contract import BlobContract, ManifestContract


@pytest.fixture
def backend():
    return "s3"


class TestOciOnS3Storage(BlobContract, ManifestContract):
    """Blob storage in a real S3-compatible server (moto in server mode)."""
