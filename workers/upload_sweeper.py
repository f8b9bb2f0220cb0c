"""Expires upload sessions a client started and then forgot.

Each expired session is discarded and recorded as `Upload.Abandoned` with the
reason `expired`, exactly as a client's cancel is.
"""

import threading

import structlog

from commands.messages import AbandonUpload
from domain.base import SYSTEM
from domain.errors import BlobUploadUnknown

log = structlog.get_logger("upload_sweeper")


def sweep_expired_uploads(registry) -> int:
    """Abandon every session untouched for longer than the TTL; return how many."""
    swept = 0
    for upload_id, repository, _size in registry.uploads.expired(registry.settings.upload_ttl_seconds):
        try:
            received = registry.uploads.cancel(upload_id, repository)
        except BlobUploadUnknown:
            continue  # finished or cancelled meanwhile
        registry.commands.abandon_upload(AbandonUpload(repository, upload_id, received, "expired", SYSTEM))
        swept += 1
    if swept:
        registry.catch_up()
        log.info("expired upload sessions", count=swept)
    return swept


class UploadSweeper:
    """Runs the sweep every `interval` seconds in a background thread."""

    def __init__(self, registry, interval: float = 600) -> None:
        self.registry = registry
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="upload-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                sweep_expired_uploads(self.registry)
            except Exception:
                log.exception("upload sweep failed")

    def stop(self) -> None:
        self._stop.set()
