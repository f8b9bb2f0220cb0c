"""A blob streaming from the upstream to a client, kept on the way.

Each chunk goes to the client as it arrives from the upstream and to a staging file; the
upstream stream checks the size and the digest at its end (DigestMismatch breaks the
client's answer too, so nothing unverified looks complete). Once it ended well, the blob is
stored and linked (ProxyFiller.commit_staged) in a thread of its own while the answer ends:
the client never waits for the blob to land. A
client that leaves mid-way drops the iterator: the staging file goes, nothing is visible.

The iterator is driven from worker threads (infra/wiring/oci_app.py sends `chunks` with
`next` in a thread), so nothing here blocks the event loop. The staging file is written by a
thread of its own (StagingWriter), fed through a bounded queue: a chunk goes on to the client
while the previous ones are still being written, so a slow disk costs the client nothing
until the queue is full (then the stream waits for the disk: memory stays bounded).
"""

import os
import queue
import threading
from typing import Callable

import structlog

log = structlog.get_logger("proxy_cache")
QUEUED_CHUNKS = 32  # chunks (of at most 1 MiB) waiting for the disk, per stream


class StagingWriter:
    """Writes one blob's chunks to its staging file in a thread of its own."""

    def __init__(self, new_file: Callable[[], str], digest: str) -> None:
        self.path: str | None = None
        self.failed = False
        self._new_file = new_file
        self._digest = digest
        self._chunks: queue.Queue = queue.Queue(maxsize=QUEUED_CHUNKS)
        self._dropped = False
        self._thread = threading.Thread(target=self._run, name="proxy-staging", daemon=True)
        self._thread.start()

    def put(self, chunk: bytes) -> None:
        if not self.failed:
            self._chunks.put(chunk)

    def finish(self) -> str | None:
        """Wait for every chunk to be on disk; the staged path, or None when staging failed."""
        self._chunks.put(None)
        self._thread.join()
        return None if self.failed else self.path

    def drop(self) -> None:
        """Stop and delete what was staged (the stream did not end well)."""
        self._dropped = True
        try:
            self._chunks.put_nowait(None)
        except queue.Full:
            pass  # the thread sees `_dropped` at its next chunk
        self._thread.join()  # at most the chunk being written: then the file is gone

    def _run(self) -> None:
        out = None
        try:
            self.path = self._new_file()
            out = open(self.path, "wb")
            while True:
                chunk = self._chunks.get()
                if chunk is None or self._dropped:
                    break
                out.write(chunk)
        except OSError as error:  # the client still gets its bytes; the cache does without
            log.warning("proxy cache: cannot stage a blob", digest=self._digest, reason=str(error))
            self.failed = True
        finally:
            if out is not None:
                out.close()
            if (self.failed or self._dropped) and self.path and os.path.exists(self.path):
                os.unlink(self.path)
            if self.failed or self._dropped:
                self._drain()

    def _drain(self) -> None:
        while True:
            try:
                self._chunks.get_nowait()
            except queue.Empty:
                return


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
        self._writer: StagingWriter | None = None
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
            if self._writer is None:
                self._writer = StagingWriter(self._filler.staging_file, self._digest)
            self._writer.put(chunk)
        return chunk

    def _finish(self) -> None:
        self._closed = True
        self._release()
        writer, self._writer = self._writer, None
        if not self._keep:
            if writer is not None:
                writer.drop()
            self._done()
            return
        # Stored and linked beside the answer's end, not before it: the client does not wait
        # for the disk or the log (a request racing it goes upstream once more).
        threading.Thread(target=self._commit, args=(writer,), name="proxy-commit", daemon=True).start()

    def _commit(self, writer: StagingWriter | None) -> None:
        path = None
        try:
            if writer is not None:
                path = writer.finish()
            elif self.size == 0:  # an empty blob: nothing was written
                path = self._filler.staging_file()
            if path is not None:
                self._filler.commit_staged(self._repository, self._digest, path, self.size, self._actor)
        finally:
            if path is not None and os.path.exists(path):
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
            if self._writer is not None:
                self._writer.drop()
                self._writer = None
            self._done()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
