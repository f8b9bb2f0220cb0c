"""Receiving blob bytes: stream into the staging area while hashing, then
verify, check the quota, move into blob storage and link, in that order.

`staging` is the registry's session staging (`registry.uploads`: local, or shared by every
node on PostgreSQL, ADR 0046) or, for a monolithic POST that no other request continues,
this node's own disk (`registry.local_uploads`)."""

import anyio
import anyio.to_thread

from commands.artifacts.messages import AbandonUpload, LinkBlob, Outcome
from domain.base import Actor
from infra.http.oci import OciRequest
from infra.storage.base import CHUNK


async def receive(request: OciRequest, staging, upload_id: str, repository: str, offset: int) -> int:
    """Append the request body to the session in about 1 MiB writes; return the new size.
    RangeInvalid (416) if the session does not end at `offset`, or no longer does when the
    body is in (another request added to it meanwhile)."""
    part = await anyio.to_thread.run_sync(staging.open_part, upload_id, repository, offset)
    try:
        parts: list[bytes] = []
        pending = 0
        async for chunk in request.stream():
            parts.append(chunk)
            pending += len(chunk)
            if pending >= CHUNK:
                await anyio.to_thread.run_sync(part.write, b"".join(parts))
                parts, pending = [], 0
        if parts:
            await anyio.to_thread.run_sync(part.write, b"".join(parts))
    except BaseException:
        with anyio.CancelScope(shield=True):  # a cancelled request still settles its part
            await anyio.to_thread.run_sync(part.abort)
        raise
    return await anyio.to_thread.run_sync(part.commit)


def _commit_and_link(registry, staging, upload_id: str, digest: str, repository: str,
                     actor: Actor) -> Outcome:
    verified = staging.verify(upload_id, digest)
    registry.commands.quotas.refuse_if_over(repository, digest, verified.size, actor)  # before keeping bytes
    with registry.gc_lock.shared():  # storing and linking are one step for the collector
        if registry.blobs.size(digest) != verified.size:
            staging.store(verified, digest, registry.blobs)
        outcome = registry.commands.link_blob(LinkBlob(repository, digest, verified.size, actor))
    staging.finish(upload_id)
    return outcome


async def complete(registry, staging, name: str, upload_id: str, digest: str, actor: Actor) -> None:
    """Verify the staged bytes, store them, and link the blob to the repository.

    A digest mismatch or a refusal discards the session: nothing partial ever becomes visible.
    """
    try:
        outcome = await anyio.to_thread.run_sync(_commit_and_link, registry, staging, upload_id,
                                                 digest, name, actor)
    except Exception:
        await anyio.to_thread.run_sync(staging.finish, upload_id)
        raise
    if outcome.position is not None:
        await anyio.to_thread.run_sync(registry.catch_up_reads)


async def abandon(registry, name: str, upload_id: str, reason: str, actor: Actor) -> None:
    received = await anyio.to_thread.run_sync(registry.uploads.cancel, upload_id, name)
    await registry.run(registry.commands.abandon_upload,
                       AbandonUpload(name, upload_id, received, reason, actor))
