"""Trusted keys and signature formats in memory: key parsing and fingerprints, the aggregate's
rules through its commands (a recreated project starts empty), and cosign and notation
verification on bytes, including the ways a signature fails to count."""

import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from commands.application import RegistryApplication
from commands.artifacts.handlers import RegistryCommands
from commands.artifacts.messages import CreateProject
from commands.iam.handlers import IamCommands
from commands.iam.messages import DeleteProject
from commands.trusted_keys import AddTrustedKey, RemoveTrustedKey, TrustedKeyCommands
from domain.base import Actor
from domain.errors import BadRequest, Conflict, NotFound
from domain.signing.trusted_keys import check_fingerprint
from infra.signatures import formats
from infra.signatures.keys import load_key, parse_public_key, verify_blob, verify_jws
from tests.integration.signing import fingerprint, public_pem, simple_signing_payload

ALICE = Actor(name="alice")


def test_the_fingerprint_is_the_sha256_of_the_der_subject_public_key_info():
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    key = parse_public_key(public_pem(private))
    assert key.fingerprint == hashlib.sha256(der).hexdigest() and key.algorithm == "ecdsa-p256"
    assert parse_public_key("\n  " + public_pem(private) + "\n").fingerprint == key.fingerprint


@pytest.mark.parametrize("pem, says", [
    ("", "required"), (None, "required"), ("garbage", "not a PEM"),
    (public_pem(ec.generate_private_key(ec.SECP384R1())), "P-256"),
    (public_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)), "2048"),
    ("x" * 20000, "larger"),
])
def test_keys_it_cannot_trust_are_refused_by_name(pem, says):
    with pytest.raises(BadRequest) as refused:
        parse_public_key(pem)
    assert says in refused.value.message


def test_a_fingerprint_from_a_path_is_checked():
    assert check_fingerprint("SHA256:" + "A" * 64) == "a" * 64
    with pytest.raises(NotFound):
        check_fingerprint("../../etc")


@pytest.fixture
def app():
    return RegistryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


class NoCredentials:
    def set(self, *args) -> None:
        pass

    def delete(self, *args) -> None:
        pass


def test_add_remove_and_the_rules_of_the_set(app):
    RegistryCommands(app).create_project(CreateProject("p", False, ALICE))
    keys = TrustedKeyCommands(app)
    first, second = ec.generate_private_key(ec.SECP256R1()), ed25519.Ed25519PrivateKey.generate()
    added = keys.add(AddTrustedKey("p", "release", public_pem(first), ALICE))
    assert added.fingerprint == fingerprint(first) and added.position
    with pytest.raises(Conflict):
        keys.add(AddTrustedKey("p", "again", public_pem(first), ALICE))
    with pytest.raises(Conflict):
        keys.add(AddTrustedKey("p", "release", public_pem(second), ALICE))
    keys.add(AddTrustedKey("p", "ci", public_pem(second), ALICE))
    keys.remove(RemoveTrustedKey("p", added.fingerprint, ALICE))
    with pytest.raises(NotFound):
        keys.remove(RemoveTrustedKey("p", added.fingerprint, ALICE))
    with pytest.raises(NotFound):
        keys.add(AddTrustedKey("nope", "k", public_pem(first), ALICE))


def test_a_recreated_project_starts_with_no_keys(app):
    RegistryCommands(app).create_project(CreateProject("p", False, ALICE))
    keys = TrustedKeyCommands(app)
    private = ec.generate_private_key(ec.SECP256R1())
    keys.add(AddTrustedKey("p", "release", public_pem(private), ALICE))
    IamCommands(app, NoCredentials()).delete_project(DeleteProject("p", 0, ALICE))
    RegistryCommands(app).create_project(CreateProject("p", False, ALICE))
    with pytest.raises(NotFound):
        keys.remove(RemoveTrustedKey("p", fingerprint(private), ALICE))
    keys.add(AddTrustedKey("p", "release", public_pem(private), ALICE))  # no conflict: a new set


@pytest.mark.parametrize("kind", ["ecdsa", "ed25519", "rsa"])
def test_cosign_blob_signatures_verify_only_under_their_key(kind):
    make = {"ecdsa": lambda: ec.generate_private_key(ec.SECP256R1()),
            "ed25519": ed25519.Ed25519PrivateKey.generate,
            "rsa": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)}[kind]
    private, other = make(), make()
    payload = simple_signing_payload("p/app", "sha256:" + "1" * 64)
    from tests.integration.signing import _sign_blob

    signature = _sign_blob(private, payload)
    assert verify_blob(load_key(public_pem(private)), signature, payload)
    assert not verify_blob(load_key(public_pem(other)), signature, payload)
    assert not verify_blob(load_key(public_pem(private)), signature, payload + b" ")
    assert formats.cosign_signed_digest(payload) == "sha256:" + "1" * 64


def test_a_jws_es256_signature_is_raw_r_and_s():
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    private = ec.generate_private_key(ec.SECP256R1())
    signing_input = b"header.payload"
    r, s = decode_dss_signature(private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    key = load_key(public_pem(private))
    assert verify_jws(key, "ES256", raw, signing_input)
    assert not verify_jws(key, "PS256", raw, signing_input)  # the alg must fit the key
    assert not verify_jws(key, "none", raw, signing_input)


def test_malformed_signature_documents_prove_nothing():
    assert formats.parse_jws(b"not json") is None
    assert formats.parse_jws(json.dumps({"payload": "x", "protected": "y", "signature": "!!"}).encode()) is None
    assert formats.cosign_signed_digest(b'{"critical": []}') is None
    assert formats.b64decode("not base64!") is None
    assert formats.cosign_tag("sha256:" + "ab" * 32) == "sha256-" + "ab" * 32 + ".sig"
    sig_layer = {"mediaType": formats.COSIGN_LAYER, "digest": "sha256:" + "0" * 64, "size": 1}
    assert formats.is_signature_manifest({"layers": [sig_layer]})
    assert not formats.is_signature_manifest({"layers": [{**sig_layer, "mediaType": "x"}, sig_layer]})
