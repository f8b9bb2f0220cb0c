"""One blob's upload to a destination registry, driven one step at a time by
`RegistryClient.push_blob`, which retries a step that failed for a retryable reason.

Steps: start a session (POST); send bytes (one PUT with the whole body, or PATCH chunks then an
empty PUT); check with a HEAD that the destination holds the blob at its size. After a failed
step the next one asks the session's status (GET on its Location, `Range: 0-N`) and continues
from byte N+1, reading the source again from there; only a session the destination no longer
has (404, or Distribution's BLOB_UPLOAD_UNKNOWN/INVALID) starts over from zero, unless the
blob turns out to be there already (a final PUT whose answer was lost).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import httpx

from infra.replication.errors import DigestMismatch, oci_codes

if TYPE_CHECKING:
    from infra.replication.transport import Transport

OCTET_STREAM = "application/octet-stream"
PIECE = 1024 * 1024  # the most bytes of the blob held at once
THROTTLED_PIECE = 64 * 1024
UPLOAD_GONE = {"BLOB_UPLOAD_UNKNOWN", "BLOB_UPLOAD_INVALID"}
_RANGE = re.compile(r"(?:bytes=)?0-(\d+)")


class BlobUpload:
    """The state of one upload: the session's Location, the bytes it acknowledged, what's next."""

    def __init__(self, wire: Transport, repository: str, digest: str, size: int,
                 read_from: Callable[[int], Iterable[bytes]], chunk_size: int,
                 on_progress: Callable[[int], None] | None,
                 blob_size: Callable[[str, str], int | None]) -> None:
        if size < 0:
            raise ValueError("size must be 0 or more")
        self.wire = wire
        self._blob_size = blob_size
        self.repository = repository
        self.digest = digest
        self.size = size
        self.chunk_size = max(chunk_size, 0)
        self.offset = 0  # bytes the destination acknowledged
        self.location: httpx.URL | None = None
        self.done = False
        self._committed = False  # the final PUT succeeded: only the check is left
        self._ask_status = False
        self._on_progress = on_progress
        self._scopes = (f"repository:{repository}:pull,push",)
        piece = THROTTLED_PIECE if wire.throttle.rate else PIECE
        self._source = _Source(read_from, size, piece, wire.throttle.consume)

    def step(self) -> bool:
        """Do the next step; True when it moved the upload forward (bytes acknowledged)."""
        if self._committed:
            self._check_stored()
            self.done = True
            return True
        if self.location is None:
            self._start()
            return False
        if self._ask_status:
            self._status()
            return False
        if self.chunk_size and self.offset < self.size:
            self._patch()
        else:
            self._put()
        return True

    def failed(self) -> None:
        """A step failed and will be tried again: first ask what the destination kept."""
        if self.location is not None and not self._committed:
            self._ask_status = True

    def cancel(self) -> None:
        """Best effort: tell the destination this session will not be finished."""
        if self.location is not None and not self._committed:
            self.wire.cancel_upload(self.location, self.repository, f"upload of {self.digest}")

    def close(self) -> None:
        self._source.close()

    # -- steps ------------------------------------------------------------------

    def _what(self, verb: str) -> str:
        return f"{verb} blob upload {self.repository}@{self.digest}"

    def _start(self) -> None:
        what = self._what("POST")
        response = self.wire.exchange("POST", self.wire.v2(f"{self.repository}/blobs/uploads/"),
                                      what, scopes=self._scopes, headers={"Content-Length": "0"})
        self.wire.expect(response, what, 202)
        self.location = self.wire.location(response, what)
        self.offset = 0
        self._ask_status = False
        minimum = response.headers.get("oci-chunk-min-length", "").strip()
        if self.chunk_size and minimum.isdigit():  # OCI 1.1: the registry's smallest chunk
            self.chunk_size = max(self.chunk_size, int(minimum))

    def _status(self) -> None:
        what = self._what("GET status of")
        response = self.wire.exchange("GET", self.location, what, scopes=self._scopes)
        gone = response.status_code == 404 or (
            response.status_code == 400 and oci_codes(response) & UPLOAD_GONE)
        if gone:
            self.location = None
            if self._blob_size(self.repository, self.digest) == self.size:
                self._committed = True  # the final PUT did happen; its answer was lost
            return
        self.wire.expect(response, what, 200, 204)
        kept = _acknowledged(response.headers.get("range", ""), None)
        self.location = self.wire.location(response, what, default=self.location)
        self._ask_status = False
        if kept > self.size:  # more than the blob has: nothing to continue
            self.cancel()
            self.location = None
            return
        self.offset = kept
        self._progress()

    def _patch(self) -> None:
        start, end = self.offset, min(self.offset + self.chunk_size, self.size)
        what = self._what(f"PATCH bytes {start}-{end - 1} of")
        headers = {"Content-Type": OCTET_STREAM, "Content-Length": str(end - start),
                   "Content-Range": f"{start}-{end - 1}"}
        response = self.wire.exchange("PATCH", self.location, what, scopes=self._scopes,
                                      headers=headers,
                                      body=lambda: self._source.read(start, end - start))
        self.wire.expect(response, what, 202, 204)
        acknowledged = _acknowledged(response.headers.get("range", ""), end)
        if not start < acknowledged <= self.size:
            raise DigestMismatch(f"registry {self.wire.name} acknowledged {acknowledged} bytes "
                                 f"of blob {self.digest} after {what}")
        self.offset = acknowledged
        self.location = self.wire.location(response, what, default=self.location)
        self._progress()

    def _put(self) -> None:
        start = self.offset
        length = 0 if self.chunk_size else self.size - start
        what = self._what("PUT")
        headers = {"Content-Type": OCTET_STREAM, "Content-Length": str(length)}
        if length and start:
            headers["Content-Range"] = f"{start}-{self.size - 1}"
        url = self.location.copy_merge_params({"digest": self.digest})
        body = (lambda: self._source.read(start, length)) if length else b""
        response = self.wire.exchange("PUT", url, what, scopes=self._scopes, headers=headers,
                                      body=body)
        if response.status_code == 400 and "DIGEST_INVALID" in oci_codes(response):
            # the bytes it got hash to another digest: worth reading them again
            raise DigestMismatch(str(self.wire.status_error(response, what)))
        self.wire.expect(response, what, 201, 204)
        self._committed = True
        self.offset = self.size
        self._progress()

    def _check_stored(self) -> None:
        stored = self._blob_size(self.repository, self.digest)
        if stored != self.size:
            found = "no such blob" if stored is None else f"{stored} bytes"
            raise DigestMismatch(f"registry {self.wire.name} holds {found} under "
                                 f"{self.repository}@{self.digest} after the upload, expected "
                                 f"{self.size} bytes")

    # -- helpers ----------------------------------------------------------------

    def _progress(self) -> None:
        if self._on_progress is not None:
            self._on_progress(self.offset)


def _acknowledged(header: str, expected_end: int | None) -> int:
    """The byte count a `Range: 0-N` answer acknowledges (N+1). "0-0" means nothing as well as
    one byte in Distribution's answers: one byte only when exactly one was expected."""
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return expected_end if expected_end is not None else 0
    last = int(match.group(1))
    if last == 0 and expected_end != 1:
        return 0
    return last + 1


class _Source:
    """The blob's bytes from `read_from`, read on from where the last request stopped, or
    opened anew at another offset; handed out in pieces of at most `piece` bytes."""

    def __init__(self, read_from: Callable[[int], Iterable[bytes]], size: int, piece: int,
                 consume: Callable[[int], None]) -> None:
        self._read_from = read_from
        self._size = size
        self._piece = piece
        self._consume = consume
        self._chunks: Iterator[bytes] | None = None
        self._opened: Iterable[bytes] | None = None
        self._left = memoryview(b"")
        self.position: int | None = None

    def read(self, offset: int, length: int) -> Iterator[bytes]:
        """`length` bytes from `offset` (reopening the source there unless it is there)."""
        if self.position != offset:
            self.close()
            self._opened = self._read_from(offset)
            self._chunks = iter(self._opened)
            self.position = offset
        return self._take(length)

    def _take(self, length: int) -> Iterator[bytes]:
        remaining = length
        while remaining > 0:
            if not self._left:
                chunk = next(self._chunks, None)
                if chunk is None:
                    ended, self.position = self.position, None  # reopen next time
                    raise DigestMismatch(f"the source of the blob ended at byte {ended} of "
                                         f"{self._size}")
                self._left = memoryview(chunk)
                continue
            piece = bytes(self._left[: min(remaining, self._piece)])
            self._left = self._left[len(piece):]
            self.position += len(piece)
            remaining -= len(piece)
            self._consume(len(piece))
            yield piece

    def close(self) -> None:
        closer = getattr(self._opened, "close", None)
        if callable(closer):
            closer()
        self._opened = self._chunks = None
        self._left = memoryview(b"")
        self.position = None
