"""Upload sessions any node can continue: a row per session in PostgreSQL, the bytes as
parts in the blob store (ADR 0046).

The row holds the session's repository, its size, its parts in order, its running sha256
state (ResumableSha256) and when it was last touched. A PATCH writes its body as a new part
while hashing, then appends the part in one conditional UPDATE (`WHERE size = <offset>`): of
two PATCHes racing from the same offset, on any nodes, exactly one is kept and the other
answers 416 and deletes its part. PUT claims the session by deleting its row, so nothing
can be added while it is verified and assembled.
"""

import hashlib
import time
import uuid

from domain.errors import BlobUploadUnknown, DigestInvalid, RangeInvalid
from infra.storage.resumable_sha256 import ResumableSha256, new_sha256
from infra.storage.upload_parts import UploadParts
from infra.storage.uploads import Verified, check_upload_id

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS upload_sessions (id TEXT PRIMARY KEY, repository TEXT NOT NULL,"
    " size BIGINT NOT NULL, parts TEXT NOT NULL, hash_state BYTEA, started DOUBLE PRECISION NOT NULL,"
    " touched DOUBLE PRECISION NOT NULL)",
    "CREATE INDEX IF NOT EXISTS upload_sessions_touched ON upload_sessions (touched)",
]


def _parts(text: str) -> list[tuple[str, int]]:
    found = []
    for line in text.splitlines():
        key, size = line.rsplit(" ", 1)
        found.append((key, int(size)))
    return found


class SharedPart:
    """One PATCH (or PUT) body being written as a part of a shared session."""

    def __init__(self, staging: "SharedUploadStaging", upload_id: str, offset: int,
                 hasher: ResumableSha256 | None) -> None:
        self.staging, self.upload_id, self.offset, self.hasher = staging, upload_id, offset, hasher
        self.key, self.writer = None, None
        self.written = 0

    def write(self, data: bytes) -> None:
        if self.writer is None:
            self.key, self.writer = self.staging.parts.new_part(self.upload_id, self.offset)
        self.writer.write(data)
        if self.hasher is not None:
            self.hasher.update(data)
        self.written += len(data)

    def commit(self) -> int:
        """Keep the part if the session still ends where it began; return the new size."""
        if self.writer is None:  # an empty body adds nothing
            return self.staging._touch(self.upload_id)
        self.writer.close()
        state = self.hasher.state() if self.hasher is not None else None
        size = self.offset + self.written
        rows = self.staging._execute(
            "UPDATE upload_sessions SET size = %s, parts = parts || %s, hash_state = %s, touched = %s"
            " WHERE id = %s AND size = %s RETURNING size",
            (size, f"{self.key} {self.written}\n", state, time.time(), self.upload_id, self.offset))
        if not rows:  # another request moved the session on (or ended it) meanwhile
            self.staging.parts.delete_part(self.key)
            current = self.staging._size_or_none(self.upload_id)
            if current is None:
                raise BlobUploadUnknown("upload unknown", {"upload": self.upload_id})
            raise RangeInvalid("chunk out of order", {"expected": current, "got": self.offset})
        return size

    def abort(self) -> None:
        """The body was cut off (client gone, body timeout): keep what arrived, as a local
        session does, so the client can resume from the status GET's Range."""
        if self.writer is None:
            return
        try:
            self.commit()
        except Exception:  # lost a race, or the part could not be finished: nothing is kept
            try:
                self.writer.discard()
            except Exception:
                pass


class SharedUploadStaging:
    """The interface of UploadStaging, for sessions every node shares."""

    shared = True

    def __init__(self, db, parts: UploadParts) -> None:
        self.pool = db.pool
        self.parts = parts
        with self.pool.connection() as conn:
            for statement in SCHEMA:
                conn.execute(statement)

    def _execute(self, sql: str, params=()) -> list[tuple]:
        with self.pool.connection() as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def _touch(self, upload_id: str) -> int:
        rows = self._execute("UPDATE upload_sessions SET touched = %s WHERE id = %s RETURNING size",
                             (time.time(), upload_id))
        if not rows:
            raise BlobUploadUnknown("upload unknown", {"upload": upload_id})
        return rows[0][0]

    def _size_or_none(self, upload_id: str) -> int | None:
        rows = self._execute("SELECT size FROM upload_sessions WHERE id = %s", (upload_id,))
        return rows[0][0] if rows else None

    def start(self, repository: str) -> str:
        upload_id = str(uuid.uuid4())
        hasher = new_sha256()
        now = time.time()
        self._execute("INSERT INTO upload_sessions (id, repository, size, parts, hash_state, started, touched)"
                      " VALUES (%s, %s, 0, '', %s, %s, %s)",
                      (upload_id, repository, hasher.state() if hasher else None, now, now))
        return upload_id

    def size(self, upload_id: str, repository: str) -> int:
        """Bytes received so far; BlobUploadUnknown if no such session for this repository."""
        check_upload_id(upload_id)
        rows = self._execute("SELECT size FROM upload_sessions WHERE id = %s AND repository = %s",
                             (upload_id, repository))
        if not rows:
            raise BlobUploadUnknown("upload unknown", {"upload": upload_id})
        return rows[0][0]

    def open_part(self, upload_id: str, repository: str, offset: int) -> SharedPart:
        """A writer for the next part; RangeInvalid unless the session ends at `offset`."""
        check_upload_id(upload_id)
        rows = self._execute("SELECT size, hash_state FROM upload_sessions WHERE id = %s AND repository = %s",
                             (upload_id, repository))
        if not rows:
            raise BlobUploadUnknown("upload unknown", {"upload": upload_id})
        size, state = rows[0]
        if size != offset:
            raise RangeInvalid("chunk out of order", {"expected": size, "got": offset})
        return SharedPart(self, upload_id, offset, ResumableSha256.resume(bytes(state) if state else None))

    def verify(self, upload_id: str, digest: str) -> Verified:
        """Take the session (no request can add to it any more) and check its bytes against the
        digest: from the saved sha256 state, or by reading the parts where there is none."""
        check_upload_id(upload_id)
        rows = self._execute("DELETE FROM upload_sessions WHERE id = %s RETURNING size, parts, hash_state",
                             (upload_id,))
        if not rows:
            raise BlobUploadUnknown("upload unknown", {"upload": upload_id})
        size, parts_text, state = rows[0]
        claimed = Verified(size, parts=_parts(parts_text))
        algorithm, expected = digest.split(":", 1)
        resumed = ResumableSha256.resume(bytes(state) if state else None) if algorithm == "sha256" else None
        if resumed is not None:
            actual = resumed.hexdigest()
        else:
            hasher = hashlib.new(algorithm)
            for key, _size in claimed.parts:
                for chunk in self.parts.iter_part(key):
                    hasher.update(chunk)
            actual = hasher.hexdigest()
        if actual != expected:
            raise DigestInvalid("provided digest did not match uploaded content",
                                {"expected": digest, "size": size})
        return claimed

    def store(self, claimed: Verified, digest: str, blobs) -> None:
        """Make the verified blob from the parts (atomic: whole or absent)."""
        if not claimed.parts:
            blobs.put_bytes(digest, b"")
            return
        self.parts.assemble(digest, claimed.parts)

    def finish(self, upload_id: str) -> None:
        """Remove what is left of a completed or discarded session."""
        check_upload_id(upload_id)
        self._execute("DELETE FROM upload_sessions WHERE id = %s", (upload_id,))
        self.parts.delete_session(upload_id)

    def cancel(self, upload_id: str, repository: str) -> int:
        """End the session (once, whichever node asks); return the bytes it had received."""
        check_upload_id(upload_id)
        rows = self._execute("DELETE FROM upload_sessions WHERE id = %s AND repository = %s RETURNING size",
                             (upload_id, repository))
        if not rows:
            raise BlobUploadUnknown("upload unknown", {"upload": upload_id})
        self.parts.delete_session(upload_id)
        return rows[0][0]

    def expired(self, ttl_seconds: int) -> list[tuple[str, str, int]]:
        """Sessions untouched for longer than the TTL: (id, repository, size)."""
        return [tuple(row) for row in self._execute(
            "SELECT id, repository, size FROM upload_sessions WHERE touched < %s",
            (time.time() - ttl_seconds,))]

    def remove_orphans(self, ttl_seconds: int) -> int:
        """Delete stored parts of sessions that no longer exist (a node died while ending one,
        or while writing a part that lost), once older than the TTL."""
        cutoff = time.time() - ttl_seconds
        removed = 0
        for upload_id, newest in list(self.parts.sessions()):
            if newest < cutoff and self._size_or_none(upload_id) is None:
                self.parts.delete_session(upload_id)
                removed += 1
        return removed


__all__ = ["SharedUploadStaging"]
