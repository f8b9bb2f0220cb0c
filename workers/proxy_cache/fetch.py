"""One upstream blob on its way into the cache, read by every client that asks for it meanwhile.

A fetch runs in a thread of its own: it opens the upstream stream (under one of the project's
upstream connections), writes the bytes to a staging file as they come, and once the
upstream stream checked them against the digest, stores and links the blob
(ProxyFiller.commit_staged). Readers (`BlobTail`) follow the staging file as it grows:

- a client's first bytes leave as soon as they are on disk (never after the whole blob);
- a second client asking for the same blob meanwhile, or the job caching a manifest, reads
  the same fetch: one upstream request per blob, however many ask;
- a client that leaves does not stop the fetch (the next pull is a hit);
- a reader gets its last byte only once the digest checked out; a fetch that fails (the
  upstream breaks off, a wrong digest, the quota) ends every reader's answer with the error,
  and nothing of it becomes visible.

When the project's quota has no room for the blob, the fetch still streams to its readers but
keeps nothing (ADR 0037).
"""

import asyncio
import os
import threading
from typing import Any, Callable

import structlog

from infra.replication.blob_upload import PIECE
from infra.replication.errors import Unreachable

log = structlog.get_logger("proxy_cache")


class Stopped(Unreachable):
    """The registry is closing (a client waiting for the fetch gets 503)."""

    def __init__(self, message: str = "the registry is closing") -> None:
        super().__init__(message)


class Missed(Stopped):
    """The fetch ended, keeping nothing, before this reader came: start another."""


class Fetch:
    def __init__(self, filler: Any, upstream: Any, repository: str, digest: str, actor: Any,
                 wait: float | None, on_end: Callable[["Fetch"], None], readers: int = 0) -> None:
        self.repository = repository
        self.digest = digest
        self.size: int | None = None
        self.keep = False
        self.kept = False
        self.error: BaseException | None = None
        self._filler = filler
        self._upstream = upstream
        self._actor = actor
        self._wait = wait
        self._on_end = on_end
        self._cond = threading.Condition()
        self._written = 0
        self._verified = False
        self._ended = False
        self._fd: int | None = None
        self._readers = readers  # a reader counted from the start keeps the file for itself
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []

    def start(self) -> "Fetch":
        threading.Thread(target=self._run, name="proxy-fetch", daemon=True).start()
        return self

    # -- the fetching thread ------------------------------------------------------

    def _run(self) -> None:
        path = None
        try:
            stream, release = self._upstream.open_blob(self.digest, wait=self._wait)
        except BaseException as error:
            self._end(error)
            return
        try:
            quotas = self._filler.registry.commands.quotas
            keep = not quotas.would_exceed(self.repository, self.digest, stream.size)
            if not keep:
                log.warning("proxy cache: blob passed through, not kept: the project is over its quota",
                            repository=self.repository, digest=self.digest, size=stream.size)
            path = self._filler.staging_file()
            fd = os.open(path, os.O_RDWR)
            with self._cond:
                self.size, self.keep, self._fd = stream.size, keep, fd
                self._cond.notify_all()
            for chunk in stream:  # checked against the digest at its end (DigestMismatch)
                if self._filler.stopping.is_set():
                    raise Stopped()
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
                with self._cond:
                    self._written += len(chunk)
                    self._changed()
        except BaseException as error:
            stream.close()
            release()
            if path is not None and os.path.exists(path):
                os.unlink(path)
            if isinstance(error, OSError):  # the disk, not the upstream: a 503 all the same, never a 500
                log.warning("proxy cache: cannot stage a blob", digest=self.digest, reason=str(error))
                error = Stopped(f"the proxy cache cannot stage blob {self.digest} now")
            self._end(error)
            return
        release()
        with self._cond:
            self._verified = True
            self._changed()
        kept = False
        try:
            if keep:
                kept = self._filler.commit_staged(self.repository, self.digest, path, self.size, self._actor)
        finally:
            if os.path.exists(path):
                os.unlink(path)  # readers keep reading through their open descriptor
            self.kept = kept
            self._end(None)

    def _end(self, error: BaseException | None) -> None:
        self._on_end(self)  # first: nobody finds it any more, then it closes
        with self._cond:
            self.error = error
            self._ended = True
            if self._readers == 0:
                self._close_fd()
            self._changed()

    def _changed(self) -> None:
        """Wake every reader (called holding the lock): threads on the condition, event-loop
        readers through their loop."""
        self._cond.notify_all()
        waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            try:
                loop.call_soon_threadsafe(_settle, future)
            except RuntimeError:  # that loop is closed: its reader is gone
                pass

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- waiting for it -----------------------------------------------------------

    def wait_ended(self, timeout: float | None = None) -> bool:
        """Wait for the fetch to end (`kept` says whether the blob was kept); whether it did."""
        with self._cond:
            return self._cond.wait_for(lambda: self._ended, timeout)

    def reader(self, attached: bool = False) -> "BlobTail | None":
        """A reader from the first byte on; waits for the upstream to answer (its error is
        raised here: the client gets it as an answer, not a broken stream). None when the
        fetch is over and the blob kept: serve it from the store. `attached`: the reader the
        fetch was made with (counted from the start, so the file waits for it)."""
        with self._cond:
            if not attached:
                self._readers += 1
            self._cond.wait_for(lambda: self.size is not None or self._ended)
            if self._fd is None:  # it never opened, or it is over and nobody reads it
                self._leave()
                if self.error is not None:
                    raise self.error
                if self.kept:
                    return None
                raise Missed("the blob's fetch ended without keeping it")
            return BlobTail(self, self.size)

    def _leave(self) -> None:
        self._readers -= 1
        if self._readers == 0 and self._ended:
            self._close_fd()

    def _readable(self, offset: int) -> bool:
        return self._written > offset or self._verified or self.error is not None

    def _span(self, offset: int) -> int:
        """(holding the lock, once readable) how many bytes from `offset` on are on disk; 0
        at a verified end."""
        if self._written <= offset and self.error is not None:
            raise self.error
        return min(max(self._written - offset, 0), PIECE)

    def _pread(self, size: int, offset: int) -> bytes:
        # Outside the lock: the descriptor stays open while this reader is counted.
        return os.pread(self._fd, size, offset) if size else b""

    def _read(self, offset: int) -> bytes:
        """The bytes from `offset` on that are on disk (waiting for some), b"" at a verified end."""
        with self._cond:
            self._cond.wait_for(lambda: self._readable(offset))
            size = self._span(offset)
        return self._pread(size, offset)

    async def _read_async(self, offset: int) -> bytes:
        """As `_read`, waiting on the event loop instead of in a worker thread, so a client
        waiting for a slow upstream holds no thread (the pool is shared by every request),
        and no thread hop is paid per chunk (a page-cache read of a piece is quicker)."""
        while True:
            with self._cond:
                if self._readable(offset):
                    size = self._span(offset)
                    break
                loop = asyncio.get_running_loop()
                future = loop.create_future()
                self._waiters.append((loop, future))
            await future
        return self._pread(size, offset)


def _settle(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


class BlobTail:
    """A client's view of a fetch: an iterator of chunks (driven from worker threads, as the
    OCI app sends them), `.size` the blob's size; `close` when the client goes away."""

    def __init__(self, fetch: Fetch, size: int) -> None:
        self.size = size
        self._fetch = fetch
        self._offset = 0
        self._closed = False

    def __iter__(self) -> "BlobTail":
        return self

    def __next__(self) -> bytes:
        if self._closed:
            raise StopIteration
        try:
            chunk = self._fetch._read(self._offset)
        except BaseException:
            self.close()
            raise
        if not chunk:
            self.close()
            raise StopIteration
        self._offset += len(chunk)
        return chunk

    def __aiter__(self) -> "BlobTail":
        return self

    async def __anext__(self) -> bytes:
        """The next chunk, awaited on the event loop (the OCI app sends this way)."""
        if self._closed:
            raise StopAsyncIteration
        try:
            chunk = await self._fetch._read_async(self._offset)
        except BaseException:
            self.close()
            raise
        if not chunk:
            self.close()
            raise StopAsyncIteration
        self._offset += len(chunk)
        return chunk

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._fetch._cond:
            self._fetch._leave()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
