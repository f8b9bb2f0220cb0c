"""An SBOM stored as Harbor stores it: an OCI artifact in the image's repository whose
`subject` is the image (so the referrers API and `/accessories` list it), `artifactType`
`application/vnd.goharbor.harbor.sbom.v1`, the empty config, and one uncompressed layer, the
SBOM document in its own media type.

The scan worker pushes it through the same commands as an OCI push (blob links charged to
the project's quota, the manifest's references checked, bytes stored only once every check
passed), as its own actor: the scanner's credential stays pull-only. Pushing again an SBOM of
the same bytes is the same artifact; a newer SBOM replaces the previous one, which is deleted
(as Harbor does) unless something else tags it.
"""

import hashlib
import json
from datetime import datetime, timezone

from commands.artifacts.messages import DeleteManifest, LinkBlob, PushManifest
from domain.artifacts.manifest_format import parse_manifest
from domain.base import Actor
from domain.errors import ManifestUnknown
from domain.scanning.reports import SBOM_ARTIFACT_TYPE

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
EMPTY_CONFIG = b"{}"
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
DESCRIPTIONS = {"application/spdx+json": "SPDX JSON SBOM", "application/vnd.cyclonedx+json": "CycloneDX JSON SBOM"}


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sbom_manifest(subject_digest: str, subject_media_type: str, subject_size: int, document: bytes,
                  document_type: str, created: datetime | None = None) -> bytes:
    """The accessory's manifest (bytes as pushed)."""
    created = (created or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    manifest = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": SBOM_ARTIFACT_TYPE,
        "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": _digest(EMPTY_CONFIG), "size": len(EMPTY_CONFIG),
                   "data": "e30="},
        "layers": [{"mediaType": document_type, "digest": _digest(document), "size": len(document)}],
        "subject": {"mediaType": subject_media_type, "digest": subject_digest, "size": subject_size},
        "annotations": {"created-by": "Tidemark", "org.opencontainers.artifact.created": created,
                        "org.opencontainers.artifact.description": DESCRIPTIONS.get(document_type, "SBOM")},
    }
    return json.dumps(manifest, separators=(",", ":")).encode()


def _link(registry, repository: str, data: bytes, actor: Actor) -> None:
    digest = _digest(data)
    registry.commands.quotas.refuse_if_over(repository, digest, len(data), actor)  # before keeping bytes
    with registry.gc_lock.shared():  # storing and linking are one step for the collector
        if registry.blobs.size(digest) != len(data):
            registry.blobs.put_bytes(digest, data)
        registry.commands.link_blob(LinkBlob(repository, digest, len(data), actor))


def push_sbom(registry, repository: str, subject_digest: str, document: bytes, document_type: str,
              actor: Actor) -> str:
    """Push the SBOM accessory of `subject_digest`; return its manifest digest. Raises what a
    push would (quota exceeded, the subject gone)."""
    subject = registry.history.artifact(repository, subject_digest, None)
    subject_size = registry.blobs.size(subject_digest)
    if subject is None or subject_size is None:
        raise ManifestUnknown("the artifact is no longer in the repository", {"digest": subject_digest})
    _link(registry, repository, EMPTY_CONFIG, actor)
    _link(registry, repository, document, actor)
    body = sbom_manifest(subject_digest, subject.media_type, subject_size, document, document_type)
    digest = _digest(body)
    parsed = parse_manifest(body, OCI_MANIFEST)

    def store() -> None:  # after every check, before the events
        if registry.blobs.size(digest) != len(body):
            registry.blobs.put_bytes(digest, body)

    with registry.gc_lock.shared():
        registry.commands.push_manifest(PushManifest(repository, digest, len(body), parsed, None, actor), store)
    return digest


def remove_sbom(registry, repository: str, digest: str, actor: Actor, cause: dict) -> bool:
    """Delete an SBOM accessory (one a newer SBOM replaces), unless something tags it."""
    if registry.queries.tags_of(repository, digest):
        return False  # someone tagged it: theirs to delete
    try:
        registry.commands.delete_manifest(DeleteManifest(repository, digest, [], actor, cause))
    except ManifestUnknown:
        return False  # deleted meanwhile
    return True
