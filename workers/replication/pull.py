"""A pull task: copy one repository of the source registry into a local repository, through
the same commands as an OCI push (quota charged before bytes are kept, references checked,
bytes stored only once their digest is verified), then check that every manifest and blob is
served here.

A blob is streamed to a staging file while hashed (never held in memory), resuming a broken
download from the bytes already staged; a blob this registry stores already is only linked.
"""

import hashlib
import os
import tempfile

from commands.artifacts.messages import CreateProject, LinkBlob, PushManifest
from domain.artifacts.manifest_format import parse_manifest
from domain.errors import ProjectExists
from infra.replication.errors import RETRYABLE, DigestMismatch, Refused, ReplicationError
from workers.replication.push import Copied


def pull_item(registry, client, source: str, destination: str, tag: str, policy: dict, copied: Copied,
              log: list[str], stopping, actor) -> None:
    """Copy `source:tag` to `destination:tag`."""
    project = destination.split("/", 1)[0]
    if registry.proxy.projects.of(project) is not None:
        raise ReplicationError(f"{project} is a proxy-cache project: its content comes from its upstream only")
    _ensure_local_project(registry, project, actor, log)
    body, media_type, digest = client.get_manifest(source, tag)
    here = registry.queries.tag(destination, tag)
    if here == digest:
        copied.skipped += 1
        return
    if here is not None and not policy.get("override", True):
        log.append(f"{destination}:{tag} names another artifact here ({here}); kept (override is off)")
        copied.skipped += 1
        return
    stored: list[tuple[str, list[str]]] = []
    _pull_manifest(registry, client, source, destination, digest, body, media_type, tag, policy, copied,
                   stored, stopping, actor)
    log.append(f"{destination}:{tag} -> {digest}")
    _pull_referrers(registry, client, source, destination, digest, policy, copied, stored, stopping, actor, log)
    for manifest_digest, blobs in stored:
        if registry.queries.manifest(destination, manifest_digest) is None:
            raise DigestMismatch(f"{destination}@{manifest_digest} is not served here after the copy")
        for blob in blobs:
            if registry.queries.blob_size(destination, blob) is None:
                raise DigestMismatch(f"{destination}: blob {blob} is not linked here after the copy")


def _pull_referrers(registry, client, source, destination, subject, policy, copied, stored, stopping, actor, log,
                    depth: int = 0) -> None:
    """The source's accessories of `subject` (signatures, SBOMs: its referrers), and theirs."""
    if depth > 3:
        return
    try:
        found = client.referrers(source, subject)
    except Refused as error:  # a registry without the referrers API may answer 400 or 405
        log.append(f"{source}@{subject}: referrers not listed ({error})")
        return
    for entry in found:
        if stopping():
            raise ReplicationError("stopped")
        if registry.queries.manifest(destination, entry["digest"]) is None:
            body, media_type, _ = client.get_manifest(source, entry["digest"])
            _pull_manifest(registry, client, source, destination, entry["digest"], body, media_type, None, policy,
                           copied, stored, stopping, actor)
            log.append(f"{destination}@{entry['digest']}: accessory of {subject}")
        _pull_referrers(registry, client, source, destination, entry["digest"], policy, copied, stored, stopping,
                        actor, log, depth + 1)


def _pull_manifest(registry, client, source, destination, digest, body, media_type, tag, policy, copied,
                   stored, stopping, actor) -> None:
    parsed = parse_manifest(body, media_type)
    for child in parsed.manifests:
        if stopping():
            raise ReplicationError("stopped")
        if registry.queries.manifest(destination, child) is None:
            child_body, child_type, _ = client.get_manifest(source, child)
            _pull_manifest(registry, client, source, destination, child, child_body, child_type, None, policy,
                           copied, stored, stopping, actor)
    blobs = [b for b in parsed.blobs if b not in parsed.foreign_blobs]
    for blob in blobs:
        if stopping():
            raise ReplicationError("stopped")
        _ensure_blob(registry, client, source, destination, blob, policy, copied, actor)

    def store() -> None:
        if registry.blobs.size(digest) != len(body):
            registry.blobs.put_bytes(digest, body)

    with registry.gc_lock.shared():
        registry.commands.push_manifest(PushManifest(destination, digest, len(body), parsed, tag, actor), store)
    registry.catch_up_reads()
    copied.manifests += 1
    stored.append((digest, blobs))


def _ensure_blob(registry, client, source, destination, digest, policy, copied, actor) -> None:
    if registry.queries.blob_size(destination, digest) is not None:
        return
    size = registry.blobs.size(digest)
    if size is not None:  # stored for another repository: link it
        registry.commands.quotas.refuse_if_over(destination, digest, size, actor)
        with registry.gc_lock.shared():
            registry.commands.link_blob(LinkBlob(destination, digest, size, actor))
        registry.catch_up_reads()
        return
    staging = registry.settings.data_path / "replication"
    staging.mkdir(parents=True, exist_ok=True)
    handle, path = tempfile.mkstemp(dir=staging, prefix="pull-")
    os.close(handle)
    try:
        size = _download(client, source, digest, path, policy)
        registry.commands.quotas.refuse_if_over(destination, digest, size, actor)
        with registry.gc_lock.shared():
            if registry.blobs.size(digest) != size:
                registry.blobs.put_file(digest, path)
            registry.commands.link_blob(LinkBlob(destination, digest, size, actor))
        registry.catch_up_reads()
        copied.blobs += 1
        copied.bytes += size
    finally:
        if os.path.exists(path):
            os.unlink(path)


def _download(client, source: str, digest: str, path: str, policy: dict) -> int:
    """Stream the blob into `path`, resuming from what is staged after a retryable fault;
    return its size once its bytes hash to `digest`."""
    algorithm, _, expected = digest.partition(":")
    attempts = policy.get("retry_attempts", 3)
    for attempt in range(1, attempts + 1):
        hasher = hashlib.new(algorithm)
        offset = os.path.getsize(path)
        if offset:
            with open(path, "rb") as staged:
                for piece in iter(lambda: staged.read(1024 * 1024), b""):
                    hasher.update(piece)
        try:
            stream = client.open_blob(source, digest, offset)
            try:
                with open(path, "ab") as out:
                    for piece in stream:
                        hasher.update(piece)
                        out.write(piece)
            finally:
                stream.close()
        except RETRYABLE as error:
            if isinstance(error, DigestMismatch):
                os.truncate(path, 0)  # what was staged is not the blob
            if attempt == attempts:
                raise
            continue
        if hasher.hexdigest() != expected:
            os.truncate(path, 0)
            if attempt == attempts:
                raise DigestMismatch(f"blob {digest}: the bytes from the source hash to something else")
            continue
        return os.path.getsize(path)
    raise AssertionError("unreachable")


def _ensure_local_project(registry, project: str, actor, log: list[str]) -> None:
    if registry.queries.project(project) is not None:
        return
    try:
        registry.commands.create_project(CreateProject(project, False, actor))
        registry.catch_up_reads()
        log.append(f"created the project {project} (private)")
    except ProjectExists:
        return
