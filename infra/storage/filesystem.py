"""Blobs as files under one directory, written by rename so they appear whole."""

import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from infra.storage.base import CHUNK, blob_key


class FilesystemBlobStore:
    def __init__(self, root: str) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._tmp = self.root / ".tmp"
        self._tmp.mkdir(exist_ok=True)

    def _path(self, digest: str) -> Path:
        return self.root / blob_key(digest)

    def size(self, digest: str) -> int | None:
        try:
            return self._path(digest).stat().st_size
        except FileNotFoundError:
            return None

    def local_path(self, digest: str) -> str | None:
        return str(self._path(digest))

    def capacity(self) -> tuple[int, int] | None:
        usage = shutil.disk_usage(self.root)
        return usage.total, usage.free

    def read(self, digest: str) -> bytes:
        return self._path(digest).read_bytes()

    def iter_range(self, digest: str, start: int, end: int) -> Iterator[bytes]:
        with open(self._path(digest), "rb") as handle:
            handle.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = handle.read(min(CHUNK, remaining))
                if not chunk:
                    return
                remaining -= len(chunk)
                yield chunk

    def put_bytes(self, digest: str, data: bytes) -> None:
        target = self._path(digest)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self._tmp, delete=False) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, target)

    def put_file(self, digest: str, path: str) -> None:
        target = self._path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, target)
        except OSError:  # another filesystem: copy beside the target, then rename
            staged = self._tmp / Path(path).name
            shutil.copyfile(path, staged)
            os.replace(staged, target)
            os.unlink(path)

    def delete(self, digest: str) -> None:
        self._path(digest).unlink(missing_ok=True)

    def list_blobs(self) -> Iterator[tuple[str, int, float]]:
        for algorithm in self.root.iterdir():
            if algorithm.name.startswith(".") or not algorithm.is_dir():
                continue
            for prefix in algorithm.iterdir():
                for blob in prefix.iterdir():
                    try:
                        stat = blob.stat()
                    except FileNotFoundError:
                        continue
                    yield f"{algorithm.name}:{blob.name}", stat.st_size, stat.st_mtime
