"""Reading a manifest's bytes: its media type, the blobs and manifests it
references, its subject and artifact type. Pure; checks only what the bytes say."""

import msgspec

from domain.errors import ManifestInvalid
from domain.input_limits import check_json
from domain.names import check_digest

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = IMAGE_TYPES | INDEX_TYPES
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"  # a Helm chart's config (Harbor's CHART)


class Descriptor(msgspec.Struct, rename=None):
    mediaType: str
    digest: str
    size: int
    urls: list[str] | None = None
    annotations: dict[str, str] | None = None
    artifactType: str | None = None
    platform: dict | None = None


class _Document(msgspec.Struct):
    schemaVersion: int
    mediaType: str | None = None
    config: Descriptor | None = None
    layers: list[Descriptor] | None = None
    manifests: list[Descriptor] | None = None
    subject: Descriptor | None = None
    artifactType: str | None = None
    annotations: dict[str, str] | None = None


class ParsedManifest(msgspec.Struct, frozen=True):
    """What a manifest says about itself and what it references."""

    media_type: str
    artifact_type: str | None
    blobs: list[str]
    foreign_blobs: list[str]
    manifests: list[str]
    subject: str | None
    annotations: dict[str, str]
    blob_bytes: int


_decoder = msgspec.json.Decoder(_Document)


def _is_foreign(layer: Descriptor) -> bool:
    """Non-distributable layers may live elsewhere; a registry need not hold them."""
    return bool(layer.urls) or "nondistributable" in layer.mediaType or "foreign" in layer.mediaType


def _check_descriptor(descriptor: Descriptor, where: str) -> None:
    try:
        check_digest(descriptor.digest)
    except Exception:
        raise ManifestInvalid(f"{where} has an invalid digest", {"digest": descriptor.digest[:200]})
    if descriptor.size < 0:
        raise ManifestInvalid(f"{where} has a negative size")


def parse_manifest(body: bytes, content_type: str | None) -> ParsedManifest:
    """Parse and check a manifest; raise ManifestInvalid saying what is wrong."""
    check_json(body, ManifestInvalid)
    try:
        doc = _decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise ManifestInvalid("manifest is not valid JSON of a known shape", {"reason": str(error)[:300]})
    declared = content_type.split(";", 1)[0].strip() if content_type else None
    media_type = doc.mediaType or declared
    if doc.mediaType and declared and declared != doc.mediaType and declared in MANIFEST_TYPES:
        raise ManifestInvalid("Content-Type does not match the manifest's mediaType",
                              {"content_type": declared, "mediaType": doc.mediaType})
    if media_type is None:
        media_type = OCI_INDEX if doc.manifests is not None else OCI_MANIFEST
    if media_type not in MANIFEST_TYPES:
        raise ManifestInvalid("unsupported manifest media type", {"mediaType": media_type[:200]})
    if doc.schemaVersion != 2:
        raise ManifestInvalid("schemaVersion must be 2")
    blobs: list[str] = []
    foreign: list[str] = []
    manifests: list[str] = []
    blob_bytes = 0
    if media_type in IMAGE_TYPES:
        if doc.config is None or doc.layers is None:
            raise ManifestInvalid("an image manifest needs config and layers")
        _check_descriptor(doc.config, "config")
        blobs.append(doc.config.digest)
        blob_bytes += doc.config.size
        for layer in doc.layers:
            _check_descriptor(layer, "layer")
            (foreign if _is_foreign(layer) else blobs).append(layer.digest)
            blob_bytes += 0 if _is_foreign(layer) else layer.size
        artifact_type = doc.artifactType or doc.config.mediaType
    else:
        if doc.manifests is None:
            raise ManifestInvalid("an index needs a manifests list")
        for child in doc.manifests:
            _check_descriptor(child, "manifests entry")
            manifests.append(child.digest)
        artifact_type = doc.artifactType
    subject = None
    if doc.subject is not None:
        _check_descriptor(doc.subject, "subject")
        subject = doc.subject.digest
    return ParsedManifest(
        media_type=media_type, artifact_type=artifact_type,
        blobs=list(dict.fromkeys(blobs)), foreign_blobs=foreign,
        manifests=list(dict.fromkeys(manifests)), subject=subject,
        annotations=doc.annotations or {}, blob_bytes=blob_bytes,
    )
