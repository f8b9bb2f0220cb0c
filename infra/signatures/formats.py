"""Reading signatures as cosign and notation store them in a registry (no I/O here: bytes in,
facts out).

cosign: an image manifest (tag `sha256-<hex>.sig`, or an OCI 1.1 referrer with artifactType
`application/vnd.dev.cosign.artifact.sig.v1+json`) whose layers are simple-signing payloads
(`application/vnd.dev.cosign.simplesigning.v1+json`); each layer's annotation
`dev.cosignproject.cosign/signature` holds the base64 signature over the payload bytes, and
the payload names the signed manifest in `critical.image.docker-manifest-digest`.

notation: a referrer (artifactType `application/vnd.cncf.notary.signature`) whose layer
`application/jose+json` is a JWS in JSON serialization; its payload names the signed manifest
in `targetArtifact.digest`; the unprotected header's `x5c` holds the certificate chain, leaf
first.
"""

import base64
import binascii
import json
from typing import Any

COSIGN_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"
COSIGN_LAYER = "application/vnd.dev.cosign.simplesigning.v1+json"
COSIGN_ANNOTATION = "dev.cosignproject.cosign/signature"
NOTATION_ARTIFACT = "application/vnd.cncf.notary.signature"
JWS_LAYER = "application/jose+json"
SIGNATURE_ARTIFACTS = (COSIGN_ARTIFACT, NOTATION_ARTIFACT)
MAX_PAYLOAD = 256 * 1024


def cosign_tag(digest: str) -> str:
    """The tag cosign pushes a manifest's signature under: `sha256-<hex>.sig`."""
    algorithm, _, hex_digest = digest.partition(":")
    return f"{algorithm}-{hex_digest}.sig"


def manifest_json(content: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def layers(doc: dict[str, Any], media_type: str) -> list[dict[str, Any]]:
    found = doc.get("layers")
    if not isinstance(found, list):
        return []
    return [layer for layer in found if isinstance(layer, dict) and layer.get("mediaType") == media_type
            and isinstance(layer.get("digest"), str)]


def is_signature_manifest(doc: dict[str, Any]) -> bool:
    """A cosign or notation signature manifest (its own pulls pass the content-trust gates)."""
    if doc.get("artifactType") in SIGNATURE_ARTIFACTS:
        return True
    config = doc.get("config")
    if isinstance(config, dict) and config.get("mediaType") in SIGNATURE_ARTIFACTS:
        return True
    found = doc.get("layers")
    return isinstance(found, list) and bool(found) and all(
        isinstance(layer, dict) and layer.get("mediaType") in (COSIGN_LAYER, JWS_LAYER) for layer in found)


def b64decode(text: object, urlsafe: bool = False) -> bytes | None:
    if not isinstance(text, str):
        return None
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.urlsafe_b64decode(padded) if urlsafe else base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def cosign_signed_digest(payload: bytes) -> str | None:
    """The manifest digest a simple-signing payload names, or None."""
    doc = manifest_json(payload)
    critical = doc.get("critical")
    image = critical.get("image") if isinstance(critical, dict) else None
    digest = image.get("docker-manifest-digest") if isinstance(image, dict) else None
    return digest if isinstance(digest, str) else None


class Jws:
    """The parts of a notation JWS envelope that verification needs."""

    def __init__(self, alg: str, signing_input: bytes, signature: bytes, target: str | None,
                 certificates: list[bytes]) -> None:
        self.alg, self.signing_input, self.signature = alg, signing_input, signature
        self.target, self.certificates = target, certificates


def parse_jws(envelope: bytes) -> Jws | None:
    doc = manifest_json(envelope)
    protected, payload_b64 = doc.get("protected"), doc.get("payload")
    if not isinstance(protected, str) or not isinstance(payload_b64, str):
        return None
    header = manifest_json(b64decode(protected, urlsafe=True) or b"")
    payload = manifest_json(b64decode(payload_b64, urlsafe=True) or b"")
    signature = b64decode(doc.get("signature"), urlsafe=True)
    alg = header.get("alg")
    if not isinstance(alg, str) or signature is None:
        return None
    target = payload.get("targetArtifact")
    digest = target.get("digest") if isinstance(target, dict) else None
    unprotected = doc.get("header") if isinstance(doc.get("header"), dict) else {}
    chain = unprotected.get("x5c") if isinstance(unprotected.get("x5c"), list) else []
    certificates = [cert for cert in (b64decode(item) for item in chain) if cert]
    return Jws(alg, f"{protected}.{payload_b64}".encode("ascii", "replace"), signature,
               digest if isinstance(digest, str) else None, certificates)
