"""The content-trust pull gates: `cosign` (metadata `enable_content_trust_cosign`) and
`notation` (`enable_content_trust`), on the PullGates seam (infra/http/pull_gates.py).

With no trusted key in the project, a gate behaves as Harbor's: some signature of its kind
must exist for the artifact. Once the project trusts keys, a signature counts only if it names
this manifest's digest and verifies under one of them (ADR 0035).

Decisions are cached, keyed on what decides them: the project settings' version (the log
position of the settings row), the trusted key set's version, and the digests of the
artifact's signature manifests. Pushing or removing a signature changes the last, so no
invalidation is needed and any process (PostgreSQL scale-out) may keep its own cache.
"""

import threading
from collections import OrderedDict
from typing import Any

from cryptography import x509

from domain.signing.trusted_keys import MAX_KEYS
from infra.http.pull_gates import Decision, PullSubject
from infra.signatures import formats
from infra.signatures.keys import fingerprint_of, load_key, verify_blob, verify_jws

MAX_SIGNATURES = 32  # signature manifests read per artifact (newest pushes beyond are ignored)


class DecisionCache:
    def __init__(self, max_entries: int = 20_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple, Decision] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Decision | None:
        return self._entries.get(key)

    def put(self, key: tuple, decision: Decision) -> None:
        with self._lock:
            self._entries[key] = decision
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


class Signatures:
    """Where an artifact's signatures are, now or at a log position (OCI query model)."""

    def __init__(self, registry) -> None:
        self.registry = registry
        self.queries = registry.queries

    def _referrers(self, repository: str, digest: str, position: int | None) -> list[tuple[str, str | None]]:
        if position is None:
            return [(row.digest, row.artifact_type) for row in self.queries.referrers(repository, digest)]
        p = self.queries.p
        rows = self.registry.db.read(
            f"SELECT digest, artifact_type FROM {p}manifests WHERE repository = ? AND subject = ? "
            "AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?) ORDER BY digest",
            (repository, digest, position, position))
        return [(row[0], row[1]) for row in rows]

    def of(self, gate: str, subject: PullSubject, position: int | None) -> list[str]:
        """Digests of the signature manifests of `gate`'s kind for the subject, sorted."""
        kind = formats.COSIGN_ARTIFACT if gate == "cosign" else formats.NOTATION_ARTIFACT
        found = {d for d, artifact_type in self._referrers(subject.repository, subject.digest, position)
                 if artifact_type == kind}
        if gate == "cosign":
            tag = formats.cosign_tag(subject.digest)
            tagged = (self.queries.tag(subject.repository, tag) if position is None
                      else self.queries.tag_at(subject.repository, tag, position))
            if tagged:
                found.add(tagged)
        return sorted(found)[:MAX_SIGNATURES]

    def content(self, digest: str, limit: int = formats.MAX_PAYLOAD) -> bytes | None:
        cached = self.registry.content.get(digest)
        if cached is not None:
            return cached
        try:
            content = self.registry.blobs.read(digest)
        except Exception:  # a signature whose bytes are gone (GC) proves nothing
            return None
        return content if len(content) <= limit else None


class SignatureGate:
    """One content-trust gate; subclasses say which signatures count and how they verify."""

    name = ""
    metadata_key = ""
    refusal = ""

    def __init__(self, registry, signatures: Signatures, cache: DecisionCache) -> None:
        self.registry = registry
        self.signatures = signatures
        self.cache = cache

    def applies(self, metadata: dict[str, str]) -> bool:
        return metadata.get(self.metadata_key) == "true"

    def decide(self, subject: PullSubject, metadata: dict[str, str], position: int | None) -> Decision:
        if subject.artifact_type in formats.SIGNATURE_ARTIFACTS:
            return Decision(self.name, True, "signature artifacts pass", {"signature_artifact": True})
        project = subject.project
        policy_version = self.registry.project_settings.version(project, position)
        keys_version = self.registry.trusted_keys.version(project, position)
        found = self.signatures.of(self.name, subject, position)
        key = (self.name, subject.repository, subject.digest, policy_version, keys_version, tuple(found))
        decision = self.cache.get(key)
        if decision is None:
            decision = self._decide(subject, position, policy_version, keys_version, found)
            self.cache.put(key, decision)
        return decision

    def _decide(self, subject: PullSubject, position: int | None, policy_version: int, keys_version: int,
                found: list[str]) -> Decision:
        base = {"policy_version": policy_version, "trusted_keys_version": keys_version}
        own = formats.manifest_json(self.signatures.content(subject.digest, 4 * 1024 * 1024) or b"")
        if own and formats.is_signature_manifest(own):
            return Decision(self.name, True, "signature artifacts pass", {**base, "signature_artifact": True})
        rows = self.registry.trusted_keys.keys(subject.project, position)[:MAX_KEYS]
        if not rows:  # Harbor's rule: a signature of this kind exists
            evidence = {**base, "mode": "presence", "trusted_keys": [],
                        "signatures": [{"digest": d, "verified": None} for d in found]}
            if found:
                return Decision(self.name, True, f"signed by {self.name} (no trusted keys: presence)", evidence)
            return Decision(self.name, False, self.refusal, evidence)
        trusted = {row.fingerprint: load_key(row.pem) for row in rows}
        checked = [self._check(subject.digest, digest, trusted) for digest in found]
        evidence = {**base, "mode": "verify", "trusted_keys": sorted(trusted), "signatures": checked}
        verified = [c for c in checked if c["verified"]]
        if verified:
            return Decision(self.name, True, f"signed by {self.name} with trusted key {verified[0]['key']}",
                            evidence)
        why = "no signature" if not found else "no signature verifies under a key the project trusts"
        return Decision(self.name, False, f"{self.refusal[:-1]}: {why}.", evidence)

    def _check(self, subject_digest: str, signature_digest: str, trusted: dict[str, Any]) -> dict:
        raise NotImplementedError


class CosignGate(SignatureGate):
    name = "cosign"
    metadata_key = "enable_content_trust_cosign"
    refusal = "The image is not signed by cosign."

    def _check(self, subject_digest: str, signature_digest: str, trusted: dict[str, Any]) -> dict:
        result = {"digest": signature_digest, "verified": False, "key": None, "problem": ""}
        doc = formats.manifest_json(self.signatures.content(signature_digest) or b"")
        layers = formats.layers(doc, formats.COSIGN_LAYER)
        if not layers:
            result["problem"] = "no simple-signing layer"
            return result
        problems = []
        for layer in layers[:MAX_SIGNATURES]:
            annotations = layer.get("annotations") if isinstance(layer.get("annotations"), dict) else {}
            signature = formats.b64decode(annotations.get(formats.COSIGN_ANNOTATION))
            size = layer.get("size")
            if signature is None or not isinstance(size, int) or size > formats.MAX_PAYLOAD:
                problems.append("no signature annotation")
                continue
            payload = self.signatures.content(layer["digest"])
            if payload is None:
                problems.append("payload missing")
                continue
            if formats.cosign_signed_digest(payload) != subject_digest:
                problems.append("payload names another digest")
                continue
            for fingerprint, key in trusted.items():
                if verify_blob(key, signature, payload):
                    return {**result, "verified": True, "key": fingerprint}
            problems.append("signed by a key the project does not trust")
        result["problem"] = problems[0] if problems else ""
        return result


class NotationGate(SignatureGate):
    name = "notation"
    metadata_key = "enable_content_trust"
    refusal = "The image is not signed by Notation."

    def _check(self, subject_digest: str, signature_digest: str, trusted: dict[str, Any]) -> dict:
        result = {"digest": signature_digest, "verified": False, "key": None, "problem": ""}
        doc = formats.manifest_json(self.signatures.content(signature_digest) or b"")
        layers = formats.layers(doc, formats.JWS_LAYER)
        if not layers or not isinstance(layers[0].get("size"), int) or layers[0]["size"] > formats.MAX_PAYLOAD:
            return {**result, "problem": "no JWS envelope"}
        envelope = formats.parse_jws(self.signatures.content(layers[0]["digest"]) or b"")
        if envelope is None:
            return {**result, "problem": "not a JWS envelope"}
        if envelope.target != subject_digest:
            return {**result, "problem": "payload names another digest"}
        candidates = trusted
        if envelope.certificates:
            try:
                leaf = x509.load_der_x509_certificate(envelope.certificates[0]).public_key()
            except ValueError:
                return {**result, "problem": "leaf certificate unreadable"}
            fingerprint = fingerprint_of(leaf)
            candidates = {fingerprint: leaf} if fingerprint in trusted else {}
        for fingerprint, key in candidates.items():
            if verify_jws(key, envelope.alg, envelope.signature, envelope.signing_input):
                return {**result, "verified": True, "key": fingerprint}
        return {**result, "problem": "signed by a key the project does not trust"}
