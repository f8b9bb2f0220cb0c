"""Receiving blob bytes: stream into the staging area while hashing, then
verify, check the quota, move into blob storage and link, in that order."""

import anyio.to_thread

from commands.artifacts.messages import AbandonUpload, LinkBlob, Outcome
from domain.base import Actor
from infra.http.oci import OciRequest
from infra.storage.base import CHUNK


async def receive(request: OciRequest, registry, upload_id: str, offset: int) -> int:
    """Append the request body to the session in about 1 MiB writes; return the new size."""
    parts: list[bytes] = []
    pending = 0
    async for chunk in request.stream():
        parts.append(chunk)
        pending += len(chunk)
        if pending >= CHUNK:
            offset = await anyio.to_thread.run_sync(registry.uploads.append, upload_id, offset,
                                                    b"".join(parts))
            parts, pending = [], 0
    if parts:
        offset = await anyio.to_thread.run_sync(registry.uploads.append, upload_id, offset,
                                                b"".join(parts))
    return offset


def _commit_and_link(registry, upload_id: str, digest: str, repository: str, actor: Actor) -> Outcome:
    path, size = registry.uploads.verify(upload_id, digest)
    registry.commands.quotas.refuse_if_over(repository, digest, size, actor)  # before keeping bytes
    with registry.gc_lock.shared():  # storing and linking are one step for the collector
        if registry.blobs.size(digest) != size:
            registry.blobs.put_file(digest, path)
        outcome = registry.commands.link_blob(LinkBlob(repository, digest, size, actor))
    registry.uploads.finish(upload_id)
    return outcome


async def complete(registry, name: str, upload_id: str, digest: str, actor: Actor) -> None:
    """Verify the staged bytes, store them, and link the blob to the repository.

    A digest mismatch or a refusal discards the session: nothing partial ever becomes visible.
    """
    try:
        outcome = await anyio.to_thread.run_sync(_commit_and_link, registry, upload_id, digest, name, actor)
    except Exception:
        await anyio.to_thread.run_sync(registry.uploads.finish, upload_id)
        raise
    if outcome.position is not None:
        await anyio.to_thread.run_sync(registry.catch_up_reads)


async def abandon(registry, name: str, upload_id: str, reason: str, actor: Actor) -> None:
    received = await anyio.to_thread.run_sync(registry.uploads.cancel, upload_id, name)
    await registry.run(registry.commands.abandon_upload,
                       AbandonUpload(name, upload_id, received, reason, actor))
