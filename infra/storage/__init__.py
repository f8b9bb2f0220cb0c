"""Content-addressed blob storage: filesystem by default, S3 through s3fs."""

from infra.storage.base import BlobStore
from infra.storage.filesystem import FilesystemBlobStore


def open_blob_store(settings) -> BlobStore:
    url = settings.resolved_storage_url
    if url.startswith("s3://"):
        from infra.storage.s3 import S3BlobStore

        return S3BlobStore(url, endpoint_url=settings.s3_endpoint_url or None)
    if url.startswith("file://"):
        return FilesystemBlobStore(url[len("file://"):])
    raise ValueError(f"unsupported TIDEMARK_STORAGE_URL scheme: {url.split(':', 1)[0]}")


__all__ = ["BlobStore", "open_blob_store"]
