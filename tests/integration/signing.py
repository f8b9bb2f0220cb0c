"""Signing in cosign's and notation's published formats with `cryptography` (no cosign or
notation binary), and pushing the signatures as those tools do."""

import base64
import datetime
import json

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from tests.integration.oci_client import OCI_CONFIG, OCI_MANIFEST, OciClient, descriptor

EMPTY = "application/vnd.oci.empty.v1+json"
COSIGN_LAYER = "application/vnd.dev.cosign.simplesigning.v1+json"
COSIGN_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"
NOTATION_ARTIFACT = "application/vnd.cncf.notary.signature"


def ecdsa_key():
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(private) -> str:
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def fingerprint(private) -> str:
    import hashlib

    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def _sign_blob(private, payload: bytes) -> bytes:
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return private.sign(payload, ec.ECDSA(hashes.SHA256()))
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return private.sign(payload)
    return private.sign(payload, padding.PKCS1v15(), hashes.SHA256())


def simple_signing_payload(repository: str, digest: str) -> bytes:
    return json.dumps({"critical": {"identity": {"docker-reference": f"registry.test/{repository}"},
                                    "image": {"docker-manifest-digest": digest},
                                    "type": "cosign container image signature"},
                       "optional": None}, separators=(",", ":")).encode()


def cosign_sign(oci: OciClient, repository: str, digest: str, private, *, signed_digest: str | None = None,
                referrer: dict | None = None) -> str:
    """Push a cosign signature of `digest`: under the tag `sha256-<hex>.sig` (cosign's default), or,
    given the subject's descriptor as `referrer`, as an OCI 1.1 referrer (`--registry-referrers-mode
    oci-1-1`). `signed_digest` puts another digest in the payload (a signature for something else)."""
    payload = simple_signing_payload(repository, signed_digest or digest)
    signature = base64.b64encode(_sign_blob(private, payload)).decode()
    oci.push_blob(repository, payload)
    layer = descriptor(COSIGN_LAYER, payload, annotations={"dev.cosignproject.cosign/signature": signature})
    if referrer is None:
        config = json.dumps({"architecture": "", "os": "", "config": {}, "created": "0001-01-01T00:00:00Z",
                             "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}).encode()
        oci.push_blob(repository, config)
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, config),
                    "layers": [layer]}
        reference = digest.replace(":", "-") + ".sig"
    else:
        oci.push_blob(repository, b"{}")
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": COSIGN_ARTIFACT,
                    "config": descriptor(EMPTY, b"{}"), "layers": [layer], "subject": referrer}
        reference = None
    pushed, body = oci.push_manifest(repository, reference or "sha256:" + _sha(json.dumps(manifest).encode()),
                                     manifest)
    return pushed


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def certificate(private) -> bytes:
    """A self-signed leaf certificate for the key, DER (notation's x5c chain of one)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tidemark test signer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=30)))
    algorithm = None if isinstance(private, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(private, algorithm).public_bytes(serialization.Encoding.DER)


def notation_sign(oci: OciClient, repository: str, subject: dict, private, *,
                  signed_digest: str | None = None) -> str:
    """Push a notation signature (JWS envelope, x5c chain) of the manifest `subject` describes,
    as a referrer, as `notation sign` does."""
    if isinstance(private, rsa.RSAPrivateKey):
        alg = "PS256"
    elif isinstance(private, ec.EllipticCurvePrivateKey):
        alg = "ES256"
    else:
        alg = "EdDSA"
    protected = _b64url(json.dumps({
        "alg": alg, "crit": ["io.cncf.notary.signingScheme"], "cty": "application/vnd.cncf.notary.payload.v1+json",
        "io.cncf.notary.signingScheme": "notary.x509",
        "io.cncf.notary.signingTime": "2026-12-01T10:00:00Z"}).encode())
    target = {**subject, "digest": signed_digest or subject["digest"]}
    payload = _b64url(json.dumps({"targetArtifact": target}).encode())
    signing_input = f"{protected}.{payload}".encode()
    if alg == "PS256":
        raw = private.sign(signing_input, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    elif alg == "ES256":
        r, s = decode_dss_signature(private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    else:
        raw = private.sign(signing_input)
    envelope = json.dumps({"payload": payload, "protected": protected, "signature": _b64url(raw),
                           "header": {"x5c": [base64.b64encode(certificate(private)).decode()],
                                      "io.cncf.notary.signingAgent": "notation-go/1.1.0"}}).encode()
    oci.push_blob(repository, envelope)
    oci.push_blob(repository, b"{}")
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": NOTATION_ARTIFACT,
                "config": descriptor(EMPTY, b"{}"), "layers": [descriptor("application/jose+json", envelope)],
                "subject": subject}
    body = json.dumps(manifest).encode()
    pushed, _ = oci.push_manifest(repository, "sha256:" + _sha(body), manifest)
    return pushed
