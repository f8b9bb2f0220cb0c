"""Upload sessions staged on local disk until their digest is verified.

Bytes are hashed while they are written. A session's running sha256 is kept in
memory so a chunked upload is not read again at the end; after a restart (or
for sha512) the staged file is hashed once more instead.
"""

import hashlib
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from domain.errors import BlobUploadInvalid, BlobUploadUnknown, DigestInvalid, RangeInvalid
from domain.input_limits import saturating_natural
from infra.storage.base import CHUNK

_UPLOAD_ID = set("0123456789abcdef-")


def check_upload_id(upload_id: str) -> str:
    """An upload id as this registry makes them (a uuid), else BlobUploadUnknown."""
    if not upload_id or len(upload_id) > 64 or not set(upload_id) <= _UPLOAD_ID:
        raise BlobUploadUnknown("upload unknown", {"upload": upload_id[:80]})
    return upload_id


@dataclass
class Verified:
    """A session whose bytes matched the digest: its size, and where the bytes are (a staged
    file here; parts in the blob store for shared sessions)."""

    size: int
    path: str | None = None
    parts: list[tuple[str, int]] = field(default_factory=list)


class LocalPart:
    """One PATCH (or PUT) body appended to a local session in about 1 MiB writes."""

    def __init__(self, staging: "UploadStaging", upload_id: str, offset: int) -> None:
        self.staging, self.upload_id, self.offset = staging, upload_id, offset

    def write(self, data: bytes) -> None:
        self.offset = self.staging.append(self.upload_id, self.offset, data)

    def commit(self) -> int:
        return self.offset

    def abort(self) -> None:
        pass  # what was appended stays, as the size the next status GET answers


class UploadStaging:
    """Sessions staged on this node's disk (the embedded default: one node sees them all)."""

    shared = False

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._hashers: dict[str, tuple[int, "hashlib._Hash"]] = {}
        self._lock = threading.Lock()

    def _dir(self, upload_id: str) -> Path:
        return self.root / check_upload_id(upload_id)

    def start(self, repository: str) -> str:
        upload_id = str(uuid.uuid4())
        path = self.root / upload_id
        path.mkdir()
        (path / "repository").write_text(repository)
        (path / "data").touch()
        with self._lock:
            self._hashers[upload_id] = (0, hashlib.sha256())
        return upload_id

    def size(self, upload_id: str, repository: str) -> int:
        """Bytes received so far; BlobUploadUnknown if no such session for this repository."""
        path = self._dir(upload_id)
        try:
            owner = (path / "repository").read_text()
            size = (path / "data").stat().st_size
        except FileNotFoundError:
            raise BlobUploadUnknown("upload unknown", {"upload": upload_id})
        if owner != repository:
            raise BlobUploadUnknown("upload unknown", {"upload": upload_id})
        return size

    def open_part(self, upload_id: str, repository: str, offset: int) -> LocalPart:
        """A writer for the next bytes; RangeInvalid unless the session ends at `offset`."""
        size = self.size(upload_id, repository)
        if size != offset:
            raise RangeInvalid("chunk out of order", {"expected": size, "got": offset})
        return LocalPart(self, upload_id, offset)

    def append(self, upload_id: str, offset: int, data: bytes) -> int:
        """Write bytes at the end of the session; the offset must be the current size."""
        path = self._dir(upload_id) / "data"
        with open(path, "ab") as handle:
            if handle.tell() != offset:
                raise RangeInvalid("chunk out of order", {"expected": handle.tell(), "got": offset})
            handle.write(data)
            size = handle.tell()
        with self._lock:
            state = self._hashers.get(upload_id)
            if state is not None and state[0] == offset:
                state[1].update(data)
                self._hashers[upload_id] = (size, state[1])
            else:
                self._hashers.pop(upload_id, None)
        return size

    def verify(self, upload_id: str, digest: str) -> Verified:
        """Check the staged bytes against the digest; return the file path and size."""
        path = self._dir(upload_id) / "data"
        size = path.stat().st_size
        algorithm, expected = digest.split(":", 1)
        with self._lock:
            state = self._hashers.pop(upload_id, None)
        if algorithm == "sha256" and state is not None and state[0] == size:
            actual = state[1].hexdigest()
        else:
            hasher = hashlib.new(algorithm)
            with open(path, "rb") as handle:
                while chunk := handle.read(8 * CHUNK):
                    hasher.update(chunk)
            actual = hasher.hexdigest()
        if actual != expected:
            raise DigestInvalid("provided digest did not match uploaded content",
                                {"expected": digest, "size": size})
        return Verified(size, path=str(path))

    def store(self, verified: Verified, digest: str, blobs) -> None:
        """Move the verified file into blob storage (atomic: whole or absent)."""
        blobs.put_file(digest, verified.path)

    def finish(self, upload_id: str) -> None:
        """Remove what is left of a completed session."""
        with self._lock:
            self._hashers.pop(upload_id, None)
        shutil.rmtree(self._dir(upload_id), ignore_errors=True)

    def cancel(self, upload_id: str, repository: str) -> int:
        size = self.size(upload_id, repository)
        self.finish(upload_id)
        return size

    def expired(self, ttl_seconds: int) -> list[tuple[str, str, int]]:
        """Sessions untouched for longer than the TTL: (id, repository, size)."""
        cutoff = time.time() - ttl_seconds
        found = []
        for entry in self.root.iterdir():
            try:
                data = entry / "data"
                if data.stat().st_mtime < cutoff:
                    found.append((entry.name, (entry / "repository").read_text(),
                                  data.stat().st_size))
            except (FileNotFoundError, NotADirectoryError):
                continue
        return found

    def remove_orphans(self, ttl_seconds: int) -> int:
        return 0  # every session here has its directory, which `expired` finds


def open_upload_staging(settings, db, blobs, local: UploadStaging):
    """Where upload sessions live: on PostgreSQL, where several nodes may serve one registry,
    in the database and the blob store, so any node continues any session (ADR 0046);
    otherwise on this node's disk."""
    if not settings.uses_postgres:
        return local
    from infra.storage.shared_uploads import SharedUploadStaging
    from infra.storage.upload_parts import upload_parts_for

    return SharedUploadStaging(db, upload_parts_for(blobs))


def check_content_range(header: str | None, current: int) -> None:
    """A PATCH's Content-Range must start where the session ends (else 416)."""
    if not header:
        return
    value = header.strip()
    if value.startswith("bytes "):
        value = value[6:]
    try:
        start_text, end_text = value.split("-", 1)
        start, end = saturating_natural(start_text), saturating_natural(end_text)
    except ValueError:
        raise BlobUploadInvalid("malformed Content-Range", {"content_range": header[:100]})
    if start != current or end < start:
        raise RangeInvalid("chunk out of order", {"expected_start": current, "content_range": header[:100]})


__all__ = ["UploadStaging", "open_upload_staging", "Verified", "check_content_range", "check_upload_id"]
