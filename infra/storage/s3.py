"""Blobs as objects in an S3 bucket through s3fs. An object appears only when
its upload completes, so a reader never sees a partial blob."""

from typing import Iterator

import s3fs

from infra.storage.base import CHUNK, blob_key

RANGE_CHUNK = 8 * CHUNK


class S3BlobStore:
    def __init__(self, url: str, endpoint_url: str | None = None) -> None:
        bucket_and_prefix = url[len("s3://"):].strip("/")
        self.base = bucket_and_prefix
        client_kwargs = {"endpoint_url": endpoint_url} if endpoint_url else {}
        self.fs = s3fs.S3FileSystem(client_kwargs=client_kwargs, use_listings_cache=False)
        bucket = bucket_and_prefix.split("/", 1)[0]
        if not self.fs.exists(bucket):
            self.fs.mkdir(bucket)

    def _key(self, digest: str) -> str:
        return f"{self.base}/blobs/{blob_key(digest)}"

    def size(self, digest: str) -> int | None:
        try:
            return int(self.fs.info(self._key(digest))["size"])
        except FileNotFoundError:
            return None

    def local_path(self, digest: str) -> str | None:
        return None

    def capacity(self) -> tuple[int, int] | None:
        return None  # a bucket grows as it is filled: no total, no free space to report

    def read(self, digest: str) -> bytes:
        return self.fs.cat_file(self._key(digest))

    def iter_range(self, digest: str, start: int, end: int) -> Iterator[bytes]:
        key = self._key(digest)
        offset = start
        while offset <= end:
            stop = min(offset + RANGE_CHUNK, end + 1)
            yield self.fs.cat_file(key, start=offset, end=stop)
            offset = stop

    def put_bytes(self, digest: str, data: bytes) -> None:
        self.fs.pipe_file(self._key(digest), data)

    def put_file(self, digest: str, path: str) -> None:
        import os

        self.fs.put_file(path, self._key(digest))
        os.unlink(path)

    def list_blobs(self) -> Iterator[tuple[str, int, float]]:
        root = f"{self.base}/blobs/"
        for key, info in self.fs.find(root, detail=True).items():
            algorithm, _prefix, encoded = key[len(root):].split("/")
            modified = info.get("LastModified")
            yield f"{algorithm}:{encoded}", int(info["size"]), modified.timestamp() if modified else 0.0

    def delete(self, digest: str) -> None:
        try:
            self.fs.rm_file(self._key(digest))
        except FileNotFoundError:
            pass
