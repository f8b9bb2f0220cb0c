"""Expires upload sessions a client started and then forgot.

Each expired session is discarded and recorded as `Upload.Abandoned` with the
reason `expired`, exactly as a client's cancel is.
"""

import structlog

from commands.artifacts.messages import AbandonUpload
from domain.base import SYSTEM
from domain.errors import BlobUploadUnknown
from workers.ticker import Ticker

log = structlog.get_logger("upload_sweeper")


def sweep_expired_uploads(registry) -> int:
    """Abandon every session untouched for longer than the TTL; return how many."""
    swept = 0
    ttl = registry.settings.upload_ttl_seconds
    stagings = [registry.uploads] + ([registry.local_uploads] if registry.local_uploads is not registry.uploads else [])
    for staging in stagings:
        for upload_id, repository, _size in staging.expired(ttl):
            try:  # on shared staging, of several nodes sweeping at once exactly one ends it
                received = staging.cancel(upload_id, repository)
            except BlobUploadUnknown:
                continue  # finished or cancelled meanwhile
            registry.commands.abandon_upload(AbandonUpload(repository, upload_id, received, "expired", SYSTEM))
            swept += 1
        staging.remove_orphans(ttl)
    if swept:
        registry.catch_up()
        log.info("expired upload sessions", count=swept)
    return swept


class UploadSweeper(Ticker):
    """Runs the sweep every `interval` seconds in a background thread."""

    name = "upload-sweeper"

    def __init__(self, registry, interval: float = 600) -> None:
        super().__init__(interval)
        self.registry = registry

    def tick(self) -> None:
        sweep_expired_uploads(self.registry)
