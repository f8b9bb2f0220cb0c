"""One writer per SQLite data directory: an exclusive lock on `<data dir>/tidemark.lock`.

On the embedded default, two processes that write one data directory break
each other without an error: each trusts its own aggregate cache (no
fast-forward on SQLite, see infra/store/event_store.py), its own lookup caches and
its own in-process GC lock, so a second server or a `tidemark gc` beside a
live one loses writes or sweeps blobs a push is linking. The lock (flock, so
the kernel drops it when the holder dies, however it dies) names its holder
so the refusal can say who it is. The webhook process that `tidemark serve`
starts itself shares its server's lock; read-only CLI verbs read beside it
(ADR 0016). PostgreSQL deployments run several processes on purpose and take
no lock here.
"""

import fcntl
import os
import time
from pathlib import Path

LOCK_FILE = "tidemark.lock"


class DataDirBusy(Exception):
    """Another live Tidemark process holds the data directory."""

    def __init__(self, data_dir: Path, pid: int | None, command: str) -> None:
        self.data_dir, self.pid, self.command = data_dir, pid, command
        super().__init__(self.message)

    @property
    def is_server(self) -> bool:
        return self.command.startswith("serve")

    @property
    def message(self) -> str:
        pid = f"pid {self.pid}" if self.pid else "pid unknown"
        if self.is_server:
            return (f"a Tidemark server is running on {self.data_dir} ({pid}); "
                    "stop it or use the REST API")
        return f"`tidemark {self.command}` is using {self.data_dir} ({pid}); wait for it to finish"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def _holder(self, fd: int) -> tuple[int | None, str]:
        os.lseek(fd, 0, os.SEEK_SET)
        lines = os.read(fd, 4096).decode(errors="replace").splitlines()
        pid = int(lines[0]) if lines and lines[0].isascii() and lines[0].isdigit() else None
        return pid, (lines[1] if len(lines) > 1 else "serve")

    def _open(self) -> int:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def acquire(self, command: str, grace: float = 5.0) -> None:
        """Hold the lock for this process (`command` says what it runs) or raise DataDirBusy.

        A holder that has exited may leave the lock to a child for a moment (granian's worker
        inherits it and exits within a second of its server): that is waited for, up to
        `grace` seconds; a live holder is refused at once."""
        fd = self._open()
        deadline = time.monotonic() + grace
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                pid, holder = self._holder(fd)
                if (pid is not None and _alive(pid)) or time.monotonic() > deadline:
                    os.close(fd)
                    raise DataDirBusy(self.data_dir, pid, holder) from None
                time.sleep(0.1)  # no pid yet (the holder is writing it) or an exiting holder
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n{command}\n".encode(), 0)
        self._fd = fd

    def holder(self) -> int | None:
        """The pid of the process holding the lock, or None when nobody holds it."""
        fd = self._open()
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return self._holder(fd)[0]
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def data_dir_lock(settings) -> DataDirLock | None:
    """The lock for the embedded default; None on PostgreSQL (several processes by design)."""
    return None if settings.uses_postgres else DataDirLock(settings.data_path)
