"""The data directory is private to the user that runs Tidemark.

The process umask is the root mechanism: with 077 every file and directory the
process or its children make (SQLite files and their -wal/-shm, webhooks.sqlite,
admin_password, uploads, blobs, lock and activity files, key files) is created
0600 or 0700, whatever library makes it. A directory made by an older version
(0755, files 0644) is tightened at start: the directory itself and its top-level
entries; deeper entries (blobs, uploads) are then out of reach of other users
because their parents are 0700, so a start never walks millions of blobs.
"""

import os
import stat
from pathlib import Path

import structlog

log = structlog.get_logger("data_dir")

PRIVATE_UMASK = 0o077


def private_umask() -> None:
    """Files and directories made from now on (here and in child processes) are private."""
    os.umask(PRIVATE_UMASK)


def prepare_data_dir(path: Path, keep: tuple[Path, ...] = ()) -> None:
    """Make `path` (0700) or tighten it and its top-level entries. Entries in `keep` (key
    files) are left alone: a key others could read is refused where it is loaded, not
    quietly made private after the fact."""
    private_umask()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    tightened = _tighten(path, 0o700)
    kept = {p.resolve() for p in keep}
    for entry in path.iterdir():
        if entry.resolve() in kept or entry.is_symlink():
            continue
        tightened += _tighten(entry, 0o700 if entry.is_dir() else 0o600)
    if tightened:
        log.warning("made the data directory private: it was readable by other users",
                    path=str(path), entries=tightened)


def _tighten(path: Path, mode: int) -> int:
    try:
        current = stat.S_IMODE(path.lstat().st_mode)
    except FileNotFoundError:  # removed meanwhile (an upload finishing, a temporary file)
        return 0
    if current & 0o077 == 0:
        return 0
    try:
        os.chmod(path, current & ~0o077 | (mode & 0o700))
    except OSError as error:
        log.warning("could not make an entry of the data directory private", path=str(path),
                    error=error.strerror)
        return 0
    return 1
