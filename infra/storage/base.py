"""The blob storage interface. Calls are blocking: run them off the event loop."""

from typing import Iterator, Protocol

CHUNK = 1024 * 1024


def blob_key(digest: str) -> str:
    """Where a blob lives, relative to the store's root: `sha256/ab/abcdef...`."""
    algorithm, encoded = digest.split(":", 1)
    return f"{algorithm}/{encoded[:2]}/{encoded}"


class BlobStore(Protocol):
    def size(self, digest: str) -> int | None:
        """The blob's size, or None if the store lacks it."""

    def local_path(self, digest: str) -> str | None:
        """A local file path for zero-copy sending, where the store has one."""

    def read(self, digest: str) -> bytes:
        """The whole blob (for small ones: manifests)."""

    def iter_range(self, digest: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes start..end (inclusive) in chunks."""

    def put_bytes(self, digest: str, data: bytes) -> None:
        """Store small content whose digest the caller verified."""

    def put_file(self, digest: str, path: str) -> None:
        """Move a verified staged file in; atomic: the blob is whole or absent."""

    def delete(self, digest: str) -> None:
        """Remove a blob (garbage collection)."""

    def list_blobs(self) -> Iterator[tuple[str, int, float]]:
        """Every stored blob as (digest, size, modified time in epoch seconds)."""

    def capacity(self) -> tuple[int, int] | None:
        """(total, free) bytes of the volume the blobs are on; None where the store has no
        fixed size (an S3 bucket)."""
