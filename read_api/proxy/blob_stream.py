"""A blob streaming from the upstream to a client, kept on the way.

Each chunk goes to the client as it arrives from the upstream and to a staging file; the
upstream stream checks the size and the digest at its end (DigestMismatch breaks the
client's answer too, so nothing unverified looks complete). Once it ended well, the blob is
stored and linked (ProxyFiller.commit_staged) in a thread of its own while the answer ends:
the client never waits for the blob to land. A
client that leaves mid-way drops the iterator: the staging file goes, nothing is visible.

The iterator is driven from worker threads (infra/wiring/oci_app.py sends `chunks` with
`next` in a thread), so the file writes and the commit never block the event loop.
"""

import os
import threading
from typing import Callable

import structlog

log = structlog.get_logger("proxy_cache")


class CachingStream:
    def __init__(self, stream, release: Callable[[], None], filler, repository: str, digest: str,
                 actor, keep: bool, done: Callable[[], None] | None) -> None:
        self.size = stream.size
        self._stream = stream
        self._release = release
        self._filler = filler
        self._repository = repository
        self._digest = digest
        self._actor = actor
        self._keep = keep  # False: passed on only (the project's quota has no room for it)
        self._done = done or (lambda: None)  # ends the "being fetched" mark (ProxyFiller.claim)
        self._path: str | None = None
        self._out = None
        self._closed = False

    def __iter__(self) -> "CachingStream":
        return self

    def __next__(self) -> bytes:
        if self._closed:
            raise StopIteration
        try:
            chunk = next(self._stream)
        except StopIteration:
            self._finish()
            raise
        except BaseException:
            self.close()
            raise
        if self._keep:
            self._write(chunk)
        return chunk

    def _write(self, chunk: bytes) -> None:
        try:
            if self._out is None:
                self._path = self._filler.staging_file()
                self._out = open(self._path, "wb")
            self._out.write(chunk)
        except OSError as error:  # the client still gets its bytes; the cache does without
            log.warning("proxy cache: cannot stage a blob", digest=self._digest, reason=str(error))
            self._drop_staging()
            self._keep = False

    def _drop_staging(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        if self._path is not None:
            if os.path.exists(self._path):
                os.unlink(self._path)
            self._path = None

    def _finish(self) -> None:
        self._closed = True
        self._release()
        path = None
        try:
            if self._keep and self._out is not None:
                self._out.close()
                self._out = None
                path, self._path = self._path, None
            elif self._keep and self.size == 0:  # an empty blob: nothing was written
                path = self._filler.staging_file()
        finally:
            self._drop_staging()
        if path is None:
            self._done()
            return
        # Stored and linked beside the answer's end, not before it: the client does not wait
        # for the write to the log (a request racing it goes upstream once more).
        threading.Thread(target=self._commit, args=(path,), name="proxy-commit", daemon=True).start()

    def _commit(self, path: str) -> None:
        try:
            self._filler.commit_staged(self._repository, self._digest, path, self.size, self._actor)
        finally:
            if os.path.exists(path):
                os.unlink(path)
            self._done()

    def close(self) -> None:
        """Stop early: the upstream connection goes back, the staged bytes are deleted."""
        if self._closed:
            return
        self._closed = True
        try:
            self._stream.close()
        finally:
            self._release()
            self._drop_staging()
            self._done()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
