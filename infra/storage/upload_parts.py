"""The bytes of shared upload sessions: one part per PATCH, kept in the blob store where
every node reads them (S3, or the storage directory), and assembled into the blob at PUT.

A part is written under a name of its own (its offset and a random suffix), so two
PATCHes racing for one session never write the same object; the session's row says which
parts count (infra/storage/shared_uploads.py).
"""

import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Iterator, Protocol

from infra.storage.base import CHUNK

MIN_COPY_PART = 5 * 1024 * 1024  # S3's smallest part (except the last) of a multipart upload
MAX_COPY_PART = 5 * 1024 * 1024 * 1024
MAX_PARTS = 10_000  # S3's most parts in one multipart upload
WRITE_BLOCK = 8 * CHUNK  # what an S3 part writer buffers before sending a block


class PartWriter(Protocol):
    def write(self, data: bytes) -> None: ...
    def close(self) -> None:
        """The part is whole and readable by every node."""
    def discard(self) -> None: ...


class UploadParts(Protocol):
    def new_part(self, upload_id: str, offset: int) -> tuple[str, PartWriter]: ...
    def iter_part(self, key: str) -> Iterator[bytes]: ...
    def assemble(self, digest: str, parts: list[tuple[str, int]]) -> None:
        """Make the blob `digest` from the parts in order; it appears whole or not at all."""
    def delete_session(self, upload_id: str) -> None: ...
    def delete_part(self, key: str) -> None: ...
    def sessions(self) -> Iterator[tuple[str, float]]:
        """Every session with parts stored, and when its newest part was written."""


def _part_name(offset: int) -> str:
    return f"{offset:016d}-{uuid.uuid4().hex[:12]}"


class _FileWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle = open(path, "wb")

    def write(self, data: bytes) -> None:
        self.handle.write(data)

    def close(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()

    def discard(self) -> None:
        self.handle.close()
        self.path.unlink(missing_ok=True)


class FilesystemUploadParts:
    """Parts as files under `<storage root>/.uploads/<id>/` (shared when the directory is)."""

    def __init__(self, blobs) -> None:
        self.blobs = blobs
        self.root = blobs.root / ".uploads"
        self.root.mkdir(exist_ok=True)

    def new_part(self, upload_id: str, offset: int) -> tuple[str, _FileWriter]:
        directory = self.root / upload_id
        directory.mkdir(exist_ok=True)
        key = f"{upload_id}/{_part_name(offset)}"
        return key, _FileWriter(self.root / key)

    def iter_part(self, key: str) -> Iterator[bytes]:
        with open(self.root / key, "rb") as handle:
            while chunk := handle.read(8 * CHUNK):
                yield chunk

    def assemble(self, digest: str, parts: list[tuple[str, int]]) -> None:
        target = self.blobs._path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        if len(parts) == 1:  # the usual case (one PATCH, or the whole blob in the PUT)
            os.replace(self.root / parts[0][0], target)
            return
        staged = self.blobs._tmp / f"assemble-{uuid.uuid4().hex}"
        with open(staged, "wb") as out:
            for key, _size in parts:
                with open(self.root / key, "rb") as part:
                    shutil.copyfileobj(part, out, 8 * CHUNK)
            out.flush()
            os.fsync(out.fileno())
        os.replace(staged, target)

    def delete_session(self, upload_id: str) -> None:
        shutil.rmtree(self.root / upload_id, ignore_errors=True)

    def delete_part(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def sessions(self) -> Iterator[tuple[str, float]]:
        for entry in self.root.iterdir():
            try:
                times = [part.stat().st_mtime for part in entry.iterdir()]
                yield entry.name, max(times, default=entry.stat().st_mtime)
            except (FileNotFoundError, NotADirectoryError):
                continue


class S3UploadParts:
    """Parts as objects under `<prefix>/uploads/<id>/`; at PUT the blob is made by S3 itself
    (a copy, or a multipart upload of part copies) when the parts allow it, else streamed."""

    def __init__(self, blobs) -> None:
        self.blobs = blobs
        self.fs = blobs.fs
        self.root = f"{blobs.base}/uploads"

    def new_part(self, upload_id: str, offset: int):
        key = f"{self.root}/{upload_id}/{_part_name(offset)}"
        return key, self.fs.open(key, "wb", block_size=WRITE_BLOCK)

    def iter_part(self, key: str) -> Iterator[bytes]:
        with self.fs.open(key, "rb", block_size=WRITE_BLOCK, cache_type="none") as handle:
            while chunk := handle.read(WRITE_BLOCK):
                yield chunk

    def assemble(self, digest: str, parts: list[tuple[str, int]]) -> None:
        target = self.blobs._key(digest)
        sizes = [size for _key, size in parts]
        if len(parts) == 1 and sizes[0] <= MAX_COPY_PART:
            self.fs.copy(parts[0][0], target)
        elif (len(parts) <= MAX_PARTS and sizes[-1] <= MAX_COPY_PART
              and all(MIN_COPY_PART <= size <= MAX_COPY_PART for size in sizes[:-1])):
            self._copy_parts(target, [key for key, _size in parts])
        else:  # parts too small for S3 to join: stream them into one object
            with self.fs.open(target, "wb", block_size=WRITE_BLOCK) as out:
                for key, _size in parts:
                    for chunk in self.iter_part(key):
                        out.write(chunk)

    def _copy_parts(self, target: str, keys: list[str]) -> None:
        bucket, key, _version = self.fs.split_path(target)
        upload = self.fs.call_s3("create_multipart_upload", Bucket=bucket, Key=key)["UploadId"]
        try:
            done = []
            for number, source in enumerate(keys, start=1):
                copied = self.fs.call_s3("upload_part_copy", Bucket=bucket, Key=key, UploadId=upload,
                                         CopySource=source, PartNumber=number)
                done.append({"PartNumber": number, "ETag": copied["CopyPartResult"]["ETag"]})
            self.fs.call_s3("complete_multipart_upload", Bucket=bucket, Key=key, UploadId=upload,
                            MultipartUpload={"Parts": done})
        except BaseException:
            self.fs.call_s3("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload)
            raise
        self.fs.invalidate_cache(target)

    def delete_session(self, upload_id: str) -> None:
        try:
            self.fs.rm(f"{self.root}/{upload_id}", recursive=True)
        except FileNotFoundError:
            pass

    def delete_part(self, key: str) -> None:
        try:
            self.fs.rm_file(key)
        except FileNotFoundError:
            pass

    def sessions(self) -> Iterator[tuple[str, float]]:
        newest: dict[str, float] = {}
        try:
            found = self.fs.find(self.root, detail=True)
        except FileNotFoundError:
            return
        for key, info in found.items():
            upload_id = key[len(self.root) + 1:].split("/", 1)[0]
            modified = info.get("LastModified")
            stamp = modified.timestamp() if modified else time.time()
            newest[upload_id] = max(newest.get(upload_id, 0.0), stamp)
        yield from newest.items()


def upload_parts_for(blobs) -> UploadParts:
    """Where the parts of shared sessions go: beside the blobs of the store in use."""
    from infra.storage.filesystem import FilesystemBlobStore

    if isinstance(blobs, FilesystemBlobStore):
        return FilesystemUploadParts(blobs)
    from infra.storage.s3 import S3BlobStore

    if isinstance(blobs, S3BlobStore):
        return S3UploadParts(blobs)
    raise ValueError(f"no shared upload staging for {type(blobs).__name__}")
