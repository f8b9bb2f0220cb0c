"""A push task: copy one local repository's artifacts to the destination registry, each with
the manifests it references (an index's children) and its accessories (signatures, SBOMs:
the manifests whose subject it is), then check by digest that the destination serves every
manifest and blob it should. Blobs the destination has are not sent again; a chunked copy
resumes from the last chunk the destination acknowledged (infra/replication/distribution.py).
"""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from domain.artifacts.manifest_format import parse_manifest
from infra.replication.errors import DigestMismatch
from workers.replication.remote import ensure_project

CHUNK = 8 * 1024 * 1024
BLOBS_AT_ONCE = 4  # a manifest's blobs are sent side by side


class Copied:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.manifests = 0
        self.blobs = 0
        self.bytes = 0
        self.skipped = 0
        self.events: dict[str, int] = {}  # a metadata task's counts: applied, skipped

    def as_dict(self) -> dict:
        counts = {"manifests": self.manifests, "blobs": self.blobs, "bytes": self.bytes, "skipped": self.skipped}
        return {**counts, **({"events": dict(self.events)} if self.events else {})}


def local_tree(registry, repository: str, digest: str) -> list[tuple[str, bytes, str, list[str]]]:
    """(digest, body, media type, blobs) of an artifact and everything it references, children
    first, then its accessories (and theirs) after it."""
    order: list[tuple[str, bytes, str, list[str]]] = []
    seen: set[str] = set()

    def visit(current: str) -> None:
        if current in seen:
            return
        seen.add(current)
        row = registry.queries.manifest(repository, current)
        if row is None:
            raise LookupError(f"{repository}@{current} is no longer in the repository")
        body = registry.blobs.read(current)
        parsed = parse_manifest(body, row.media_type)
        for child in parsed.manifests:
            visit(child)
        order.append((current, body, parsed.media_type, [b for b in parsed.blobs if b not in parsed.foreign_blobs]))
        for referrer in registry.queries.referrers(repository, current):
            visit(referrer.digest)

    visit(digest)
    return order


def config_type(body: bytes) -> str:
    try:
        return (json.loads(body).get("config") or {}).get("mediaType", "")
    except (ValueError, AttributeError):
        return ""


def push_item(registry, client, endpoint: dict, source: str, destination: str, item: dict, policy: dict,
              copied: Copied, log: list[str], stopping) -> None:
    """Copy one artifact (item: digest, tags) to `destination`; raise on faults."""
    ensure_project(registry, endpoint, destination.split("/", 1)[0], log)
    tree = local_tree(registry, source, item["digest"])
    for digest, body, media_type, blobs in tree:
        if stopping():
            return
        _ensure_blobs(registry, client, destination, blobs, policy, copied, log)
        if client.manifest_digest(destination, digest) == digest:
            copied.skipped += 1
        else:
            client.put_manifest(destination, digest, body, media_type)
            copied.manifests += 1
    top_digest, top_body, top_type, _ = tree[[d for d, *_ in tree].index(item["digest"])]
    for tag in item.get("tags", []):
        there = client.manifest_digest(destination, tag)
        if there == top_digest:
            continue
        if there is not None and not policy.get("override", True):
            log.append(f"{destination}:{tag} names another artifact there ({there}); kept (override is off)")
            copied.skipped += 1
            continue
        client.put_manifest(destination, tag, top_body, top_type)
        log.append(f"{destination}:{tag} -> {top_digest}")
    _verify(registry, client, destination, tree, item.get("tags", []), policy)


def _ensure_blobs(registry, client, destination: str, blobs: list[str], policy: dict, copied: Copied,
                  log: list[str]) -> None:
    if len(blobs) <= 1:
        for blob in blobs:
            _ensure_blob(registry, client, destination, blob, policy, copied, log)
        return
    with ThreadPoolExecutor(min(BLOBS_AT_ONCE, len(blobs)), thread_name_prefix="replication-blob") as pool:
        for done in [pool.submit(_ensure_blob, registry, client, destination, blob, policy, copied, log)
                     for blob in blobs]:
            done.result()  # the first fault is the task's


def _ensure_blob(registry, client, destination: str, digest: str, policy: dict, copied: Copied,
                 log: list[str]) -> None:
    size = registry.blobs.size(digest)
    if size is None:
        raise LookupError(f"blob {digest} is missing from this registry's storage")
    if client.blob_size(destination, digest) == size:
        return
    chunk = CHUNK if policy.get("copy_by_chunk") else 0

    def read_from(offset: int):
        if offset >= size:
            return iter(())
        return registry.blobs.iter_range(digest, offset, size - 1)

    client.push_blob(destination, digest, size, read_from, chunk_size=chunk,
                     attempts=policy.get("retry_attempts", 3), backoff=policy.get("retry_backoff_seconds", 2.0))
    with copied.lock:
        copied.blobs += 1
        copied.bytes += size
        log.append(f"blob {digest} ({size} bytes) copied")


def _verify(registry, client, destination: str, tree, tags: list[str], policy: dict) -> None:
    """The destination serves every manifest and blob by digest (HEAD), and each tag copied."""
    for digest, _, _, blobs in tree:
        if client.manifest_digest(destination, digest) != digest:
            raise DigestMismatch(f"{destination}@{digest}: the destination does not serve the manifest "
                                 "after the copy")
        for blob in blobs:
            if client.blob_size(destination, blob) != registry.blobs.size(blob):
                raise DigestMismatch(f"{destination}: blob {blob} is missing or has another size at the "
                                     "destination after the copy")
