"""When the API last answered a request, readable by the other processes of this host.

`tidemark serve` sends webhooks from a process of its own, which yields to the
API while it is busy (workers/webhooks/pacing.py). It learns that from this: an
8-byte memory-mapped file in the data directory holding the monotonic clock
reading (system-wide on Linux) of the newest answered request. Writing it is a
store to shared memory, no system call, so every request can afford it.
"""

import mmap
import os
import struct
import time
from pathlib import Path

FILE_NAME = "api-activity"
_SLOT = struct.Struct("d")


class ActivityFile:
    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < _SLOT.size:
                os.ftruncate(fd, _SLOT.size)
            self._map = mmap.mmap(fd, _SLOT.size)
        finally:
            os.close(fd)

    def mark(self) -> None:
        """A request was answered now."""
        _SLOT.pack_into(self._map, 0, time.monotonic())

    def last(self) -> float:
        """The monotonic time of the newest answered request (0.0 if none yet)."""
        return _SLOT.unpack_from(self._map, 0)[0]


def open_activity(data_path: Path) -> ActivityFile | None:
    """The host's activity file in the data directory, or None where it cannot be mapped."""
    try:
        data_path.mkdir(parents=True, exist_ok=True)
        return ActivityFile(data_path / FILE_NAME)
    except (OSError, ValueError):
        return None
