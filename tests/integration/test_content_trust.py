"""Content trust through the REST and OCI APIs, on SQLite and PostgreSQL: trusted keys per
project, the cosign and notation pull gates (presence as Harbor without keys, verification
with them), refusals that name their evidence, and `pull-decision` now and in the past."""

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from domain.iam.roles import DEVELOPER, GUEST, PROJECT_ADMIN
from tests.integration.iam_helpers import add_member, as_user, create_project, create_user
from tests.integration.oci_client import OCI_MANIFEST
from tests.integration.signing import (cosign_sign, ecdsa_key, fingerprint, notation_sign, public_pem)

API = "/api/v2.0"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request):
    return request.param


def gate_on(http, project: str, key: str = "enable_content_trust_cosign") -> None:
    response = http.put(f"{API}/projects/{project}", json={"metadata": {key: "true"}})
    assert response.status_code == 200, response.text


def trust(http, project: str, private, name: str = "release") -> str:
    response = http.post(f"{API}/projects/{project}/trusted-keys", json={"name": name, "public_key": public_pem(private)})
    assert response.status_code == 201, response.text
    return response.json()["fingerprint"]


def pull(http, repository: str, reference: str, **headers):
    return http.get(f"/v2/{repository}/manifests/{reference}", headers={"accept": OCI_MANIFEST, **headers})


def refusal(response) -> dict:
    assert response.status_code == 412, response.text
    error = response.json()["errors"][0]
    return error


def setup_image(http, oci, project: str = "ct", key: str = "enable_content_trust_cosign"):
    create_project(http, project)
    repository = f"{project}/app"
    digest, body = oci.push_image(repository, "v1")
    gate_on(http, project, key)
    return repository, digest, {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body)}


def test_trusted_keys_round_trip_with_fingerprints(http):
    create_project(http, "ct")
    keys = {"ec": ecdsa_key(), "ed": ed25519.Ed25519PrivateKey.generate(),
            "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048)}
    for name, private in keys.items():
        assert trust(http, "ct", private, name) == fingerprint(private)
    listed = http.get(f"{API}/projects/ct/trusted-keys").json()
    assert [(k["name"], k["algorithm"]) for k in listed] == [("ec", "ecdsa-p256"), ("ed", "ed25519"), ("rsa", "rsa")]
    one = http.get(f"{API}/projects/ct/trusted-keys/{fingerprint(keys['ed'])}")
    assert one.status_code == 200 and one.json()["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    again = http.post(f"{API}/projects/ct/trusted-keys", json={"name": "other", "public_key": public_pem(keys["ec"])})
    assert again.status_code == 409
    assert http.delete(f"{API}/projects/ct/trusted-keys/{fingerprint(keys['ec'])}").status_code == 200
    assert http.get(f"{API}/projects/ct/trusted-keys/{fingerprint(keys['ec'])}").status_code == 404
    assert len(http.get(f"{API}/projects/ct/trusted-keys").json()) == 2


BAD_KEYS = [
    {"name": "x", "public_key": "not a pem"},
    {"name": "x", "public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"},
    {"name": "x", "public_key": public_pem(ec.generate_private_key(ec.SECP384R1()))},
    {"name": "x", "public_key": public_pem(rsa.generate_private_key(public_exponent=65537, key_size=1024))},
    {"name": "", "public_key": public_pem(ec.generate_private_key(ec.SECP256R1()))},
    {"public_key": 5}, [1, 2],
]


def test_a_bad_key_is_a_400_in_harbors_error_format_and_records_nothing(http, registry):
    create_project(http, "ct")
    head = registry.app.head()
    for body in BAD_KEYS:  # one registry for all of them: each case is cheap, a registry is not
        response = http.post(f"{API}/projects/ct/trusted-keys", json=body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["errors"][0]["code"] == "BAD_REQUEST"
    assert registry.app.head() == head


def test_another_projects_fingerprint_is_a_404(http):
    create_project(http, "a")
    create_project(http, "b")
    private = ecdsa_key()
    fp = trust(http, "a", private)
    assert http.get(f"{API}/projects/b/trusted-keys/{fp}").status_code == 404
    assert http.delete(f"{API}/projects/b/trusted-keys/{fp}").status_code == 404
    assert http.get(f"{API}/projects/a/trusted-keys/{fp}").status_code == 200


def test_members_read_keys_and_only_project_admins_change_them(http):
    create_project(http, "ct")
    for user, role in (("guest1", GUEST), ("dev1", DEVELOPER), ("admin1", PROJECT_ADMIN)):
        create_user(http, user)
        add_member(http, "ct", user, role)
    body = {"name": "k", "public_key": public_pem(ecdsa_key())}
    assert http.get(f"{API}/projects/ct/trusted-keys", headers=as_user("guest1")).status_code == 200
    assert http.post(f"{API}/projects/ct/trusted-keys", json=body, headers=as_user("dev1")).status_code == 403
    assert http.post(f"{API}/projects/ct/trusted-keys", json=body, headers=as_user("admin1")).status_code == 201
    create_user(http, "outsider")
    assert http.get(f"{API}/projects/ct/trusted-keys", headers=as_user("outsider")).status_code == 403


def test_harbor_mode_without_keys_needs_some_cosign_signature(http, oci):
    repository, digest, _ = setup_image(http, oci)
    error = refusal(pull(http, repository, "v1"))
    assert error["code"] == "PROJECTPOLICYVIOLATION" and error["message"] == "The image is not signed by cosign."
    cosign_sign(oci, repository, digest, ecdsa_key())  # any key: no key is trusted
    assert pull(http, repository, "v1").status_code == 200


def test_unsigned_refused_trusted_signature_allowed(http, oci):
    repository, digest, _ = setup_image(http, oci)
    private = ecdsa_key()
    trust(http, "ct", private)
    assert "not signed by cosign" in refusal(pull(http, repository, digest))["message"]
    cosign_sign(oci, repository, digest, private)
    assert pull(http, repository, "v1").status_code == 200
    assert pull(http, repository, digest).status_code == 200


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_cosign_referrer_signatures_of_other_key_types_verify(http, oci, kind):
    repository, digest, subject = setup_image(http, oci)
    private = (ed25519.Ed25519PrivateKey.generate() if kind == "ed25519"
               else rsa.generate_private_key(public_exponent=65537, key_size=2048))
    trust(http, "ct", private)
    refusal(pull(http, repository, "v1"))
    cosign_sign(oci, repository, digest, private, referrer=subject)
    assert pull(http, repository, "v1").status_code == 200


def test_a_signature_by_an_unknown_key_does_not_count_once_keys_exist(http, oci):
    repository, digest, _ = setup_image(http, oci)
    trust(http, "ct", ecdsa_key())
    signature = cosign_sign(oci, repository, digest, ecdsa_key())
    error = refusal(pull(http, repository, "v1"))
    assert "no signature verifies" in error["message"]
    decision = http.get(f"{API}/projects/ct/repositories/app/artifacts/v1/pull-decision").json()
    [cosign] = decision["decisions"]
    assert decision["allowed"] is False and cosign["evidence"]["signatures"][0]["digest"] == signature
    assert cosign["evidence"]["signatures"][0]["problem"] == "signed by a key the project does not trust"


def test_a_signature_for_another_digest_is_refused(http, oci):
    repository, digest, subject = setup_image(http, oci)
    private = ecdsa_key()
    trust(http, "ct", private)
    other, _ = oci.push_image(repository, "v2")
    cosign_sign(oci, repository, digest, private, signed_digest=other)  # replayed under this digest's tag
    refusal(pull(http, repository, "v1"))
    decision = http.get(f"{API}/projects/ct/repositories/app/artifacts/v1/pull-decision").json()
    assert decision["decisions"][0]["evidence"]["signatures"][0]["problem"] == "payload names another digest"


def test_removing_the_key_takes_effect_on_the_next_pull(http, oci):
    repository, digest, _ = setup_image(http, oci)
    private, other = ecdsa_key(), ecdsa_key()
    fp = trust(http, "ct", private)
    trust(http, "ct", other, "spare")
    cosign_sign(oci, repository, digest, private)
    assert pull(http, repository, "v1").status_code == 200
    assert http.delete(f"{API}/projects/ct/trusted-keys/{fp}").status_code == 200
    refusal(pull(http, repository, "v1"))


def test_signature_artifacts_and_signer_reads_pass(http, oci):
    repository, digest, _ = setup_image(http, oci)
    private = ecdsa_key()
    trust(http, "ct", private)
    assert pull(http, repository, digest, **{"user-agent": "cosign/v2.4.1 (linux; amd64)"}).status_code == 200
    refusal(pull(http, repository, "v1", **{"user-agent": "cosign/v2.4.1 (linux; amd64)"}))  # by tag: gated
    signature = cosign_sign(oci, repository, digest, ecdsa_key())
    assert pull(http, repository, signature).status_code == 200  # the .sig manifest itself
    create_user(http, "reader")
    add_member(http, "ct", "reader", GUEST)
    refused = pull(http, repository, digest, authorization=as_user("reader")["authorization"],
                   **{"user-agent": "cosign/v2.4.1"})
    refusal(refused)  # a pull-only account never passes as a signer


def test_notation_gate_verifies_the_jws_under_a_trusted_leaf_key(http, oci):
    repository, digest, subject = setup_image(http, oci, key="enable_content_trust")
    assert "The image is not signed by Notation." in refusal(pull(http, repository, "v1"))["message"]
    private = ecdsa_key()
    notation_sign(oci, repository, subject, ecdsa_key())
    assert pull(http, repository, "v1").status_code == 200  # Harbor mode: a signature exists
    trust(http, "ct", private)
    refusal(pull(http, repository, "v1"))  # that signature is by an unknown key
    notation_sign(oci, repository, subject, private, signed_digest="sha256:" + "0" * 64)
    refusal(pull(http, repository, "v1"))
    notation_sign(oci, repository, subject, private)
    assert pull(http, repository, "v1").status_code == 200


def test_notation_rsa_pss_signatures_verify(http, oci):
    repository, digest, subject = setup_image(http, oci, key="enable_content_trust")
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    trust(http, "ct", private)
    notation_sign(oci, repository, subject, private)
    assert pull(http, repository, "v1").status_code == 200


def test_pull_decision_now_and_before_the_key_was_added(http, oci, registry):
    create_project(http, "ct")
    digest, _ = oci.push_image("ct/app", "v1")
    before_gate = registry.app.head()
    gate_on(http, "ct")
    cosign_sign(oci, "ct/app", digest, ecdsa_key())
    before_key = registry.app.head()
    fp = trust(http, "ct", ecdsa_key())
    url = f"{API}/projects/ct/repositories/app/artifacts/v1/pull-decision"
    now = http.get(url).json()
    assert now["allowed"] is False and now["digest"] == digest and now["at"] is None
    evidence = now["decisions"][0]["evidence"]
    assert evidence["mode"] == "verify" and evidence["trusted_keys"] == [fp]
    assert evidence["trusted_keys_version"] > before_key and 0 < evidence["policy_version"] <= before_key
    then = http.get(url, params={"at": str(before_key)}).json()
    assert then["allowed"] is True and then["at"] == before_key
    assert then["decisions"][0]["evidence"]["mode"] == "presence"
    assert then["decisions"][0]["evidence"]["trusted_keys_version"] == 0
    assert http.get(url, params={"at": str(before_gate)}).json() == {
        "repository": "ct/app", "digest": digest, "at": before_gate, "allowed": True, "decisions": []}
    assert http.get(url, params={"at": "yesterday"}).status_code == 400


def test_removing_the_signature_takes_effect_on_the_next_pull(http, oci):
    repository, digest, subject = setup_image(http, oci)
    private = ecdsa_key()
    trust(http, "ct", private)
    signature = cosign_sign(oci, repository, digest, private, referrer=subject)
    assert pull(http, repository, "v1").status_code == 200
    response = http.delete(f"{API}/projects/ct/repositories/app/artifacts/{signature}")
    assert response.status_code == 200, response.text
    refusal(pull(http, repository, "v1"))


def test_keys_added_at_once_are_all_kept(http, backend):
    from concurrent.futures import ThreadPoolExecutor

    create_project(http, "ct")
    bodies = [{"name": f"k{i}", "public_key": public_pem(ecdsa_key())} for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda body: http.post(f"{API}/projects/ct/trusted-keys", json=body), bodies))
    assert [a.status_code for a in answers] == [201] * 8
    assert sorted(k["name"] for k in http.get(f"{API}/projects/ct/trusted-keys").json()) == sorted(
        b["name"] for b in bodies)


def test_a_refusal_names_its_policy_and_key_versions_in_answer_and_log(http, oci):
    from structlog.testing import capture_logs

    repository, digest, _ = setup_image(http, oci)
    fp = trust(http, "ct", ecdsa_key())
    signature = cosign_sign(oci, repository, digest, ecdsa_key())
    with capture_logs() as logs:
        error = refusal(pull(http, repository, "v1"))
    assert error["detail"]["gate"] == "cosign"
    assert error["detail"]["trusted_keys_version"] > error["detail"]["policy_version"] > 0
    [line] = [entry for entry in logs if entry["event"] == "pull refused"]
    assert line["log_level"] == "warning" and line["gate"] == "cosign"
    assert line["digest"] == digest and line["evidence"]["trusted_keys"] == [fp]
    assert line["evidence"]["trusted_keys_version"] == error["detail"]["trusted_keys_version"]
    assert [s["digest"] for s in line["evidence"]["signatures"]] == [signature]


def test_trusted_key_events_are_public(http):
    create_project(http, "ct")
    private = ecdsa_key()
    fp = trust(http, "ct", private)
    http.delete(f"{API}/projects/ct/trusted-keys/{fp}")
    events = http.get(f"{API}/events", params={"limit": 1000}).json()
    items = events["events"] if isinstance(events, dict) else events
    kinds = [e["type"] for e in items if e.get("project") == "ct"]
    assert "io.tidemark.project.trusted_key_added.v1" in kinds
    assert "io.tidemark.project.trusted_key_removed.v1" in kinds


def _index(oci, repository: str, tag: str) -> tuple[str, list[str]]:
    import hashlib
    import json

    from tests.integration.oci_client import OCI_INDEX

    children = []
    for arch in ("amd64", "arm64"):
        manifest = oci.image_manifest(repository)
        digest, body = oci.push_manifest(
            repository, "sha256:" + hashlib.sha256(json.dumps(manifest).encode()).hexdigest(), manifest)
        children.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body),
                         "platform": {"architecture": arch, "os": "linux"}})
    digest, _ = oci.push_manifest(repository, tag, {"schemaVersion": 2, "mediaType": OCI_INDEX,
                                                     "manifests": children}, OCI_INDEX)
    return digest, [child["digest"] for child in children]


def test_a_platform_manifest_of_a_signed_index_pulls_through_the_index(http, oci):
    create_project(http, "ct")
    gate_on(http, "ct")
    private = ecdsa_key()
    trust(http, "ct", private)
    signed, children = _index(oci, "ct/multi", "v1")
    _, others = _index(oci, "ct/multi", "v2")
    cosign_sign(oci, "ct/multi", signed, private)
    assert http.get("/v2/ct/multi/manifests/v1", headers={"accept": "application/vnd.oci.image.index.v1+json"}
                    ).status_code == 200
    for child in children:
        assert pull(http, "ct/multi", child).status_code == 200
    refusal(pull(http, "ct/multi", others[0]))
    decision = http.get(f"{API}/projects/ct/repositories/multi/artifacts/{children[0]}/pull-decision").json()
    assert decision["allowed"] and decision["decisions"][0]["evidence"]["through_index"] == signed
