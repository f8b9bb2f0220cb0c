"""Public keys a project may trust: parsing a PEM, its fingerprint, and checking a signature
with it.

Accepted: ECDSA P-256, Ed25519, RSA of 2048 bits or more (what cosign and notation sign with).
The fingerprint is the sha256 of the DER SubjectPublicKeyInfo, as `openssl pkey -pubin
-outform DER | sha256sum` prints it.
"""

import hashlib
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from domain.errors import BadRequest

MAX_PEM = 16 * 1024
MIN_RSA_BITS = 2048


class PublicKey(msgspec.Struct, frozen=True):
    fingerprint: str
    algorithm: str  # ecdsa-p256, ed25519, rsa
    pem: str  # normalized: the SubjectPublicKeyInfo PEM


def fingerprint_of(key: Any) -> str:
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def algorithm_of(key: Any) -> str | None:
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return "ecdsa-p256"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPublicKey) and key.key_size >= MIN_RSA_BITS:
        return "rsa"
    return None


def parse_public_key(pem: object) -> PublicKey:
    """A PEM public key (or certificate: its key) as the project would trust it; 400 otherwise."""
    if not isinstance(pem, str) or not pem.strip():
        raise BadRequest("public_key is required: a PEM public key", {"field": "public_key"})
    if len(pem) > MAX_PEM:
        raise BadRequest(f"public_key is larger than {MAX_PEM} bytes", {"field": "public_key"})
    data = pem.strip().encode("ascii", "replace")
    key = None
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            from cryptography import x509

            key = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except Exception:  # cryptography raises ValueError, TypeError or its own for bad input
        raise BadRequest("public_key is not a PEM public key", {"field": "public_key"}) from None
    algorithm = algorithm_of(key)
    if algorithm is None:
        raise BadRequest("public_key must be ECDSA P-256, Ed25519 or RSA of 2048 bits or more",
                         {"field": "public_key"})
    normalized = key.public_bytes(serialization.Encoding.PEM,
                                  serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return PublicKey(fingerprint_of(key), algorithm, normalized)


def load_key(pem: str) -> Any:
    return serialization.load_pem_public_key(pem.encode())


def verify_blob(key: Any, signature: bytes, payload: bytes) -> bool:
    """Cosign's signature over a payload: ECDSA (DER, sha256), Ed25519, RSA PKCS#1 v1.5 or PSS."""
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, payload)
        elif isinstance(key, rsa.RSAPublicKey):
            try:
                key.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
            except InvalidSignature:
                key.verify(signature, payload, padding.PSS(padding.MGF1(hashes.SHA256()),
                                                           padding.PSS.AUTO), hashes.SHA256())
        else:
            return False
        return True
    except (InvalidSignature, ValueError):
        return False


_JWS_HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def verify_jws(key: Any, alg: str, signature: bytes, signing_input: bytes) -> bool:
    """A JWS signature (RFC 7518: PS*, ES* as raw r||s, RS*; EdDSA) under `key`."""
    try:
        if alg == "EdDSA" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, signing_input)
            return True
        digest = _JWS_HASHES.get(alg[2:])
        if digest is None:
            return False
        if alg.startswith("ES") and isinstance(key, ec.EllipticCurvePublicKey):
            half = len(signature) // 2
            der = encode_dss_signature(int.from_bytes(signature[:half], "big"),
                                       int.from_bytes(signature[half:], "big"))
            key.verify(der, signing_input, ec.ECDSA(digest()))
            return True
        if alg.startswith("PS") and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signing_input, padding.PSS(padding.MGF1(digest()), digest().digest_size),
                       digest())
            return True
        if alg.startswith("RS") and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signing_input, padding.PKCS1v15(), digest())
            return True
        return False
    except (InvalidSignature, ValueError):
        return False
