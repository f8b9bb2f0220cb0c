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

    def lookups(self, gate: str, subject: PullSubject, position: int | None) -> tuple[int, int, list[str]]:
        """(settings version, trusted key set version, signature manifest digests), now or at a
        log position, in one read: the first row holds the single values (and cosign's tagged
        signature), the others the subject's referrers. It reads the settings, trusted-key and
        OCI views' tables, which the gate only ever reads."""
        p, limit = self.queries.p, position if position is not None else 2**62
        settings, keys = self.registry.project_settings.p, self.registry.trusted_keys.p
        tag = formats.cosign_tag(subject.digest) if gate == "cosign" else ""
        live = "valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)"
        rows = self.registry.db.read(
            f"SELECT 0, (SELECT MAX(valid_from) FROM {settings}settings WHERE project = ? AND valid_from <= ?), "
            f"(SELECT MAX(CASE WHEN valid_from <= ? THEN valid_from ELSE 0 END) FROM {keys}keys WHERE project = ?), "
            f"(SELECT MAX(CASE WHEN valid_to <= ? THEN valid_to ELSE 0 END) FROM {keys}keys WHERE project = ?), "
            f"(SELECT digest FROM {p}tags WHERE repository = ? AND tag = ? AND {live}), NULL "
            f"UNION ALL SELECT 1, NULL, NULL, NULL, digest, artifact_type FROM {p}manifests "
            f"WHERE repository = ? AND subject = ? AND {live}",
            (subject.project, limit, limit, subject.project, limit, subject.project, subject.repository, tag,
             limit, limit, subject.repository, subject.digest, limit, limit))
        kind = formats.COSIGN_ARTIFACT if gate == "cosign" else formats.NOTATION_ARTIFACT
        head = next(row for row in rows if row[0] == 0)
        found = {row[4] for row in rows if row[0] == 1 and row[5] == kind}
        if head[4]:
            found.add(head[4])
        return head[1] or 0, max(head[2] or 0, head[3] or 0), sorted(found)[:MAX_SIGNATURES]

    def parents(self, repository: str, digest: str, position: int | None) -> list[str]:
        """The image indexes of the repository that list the manifest (now or at a position)."""
        limit = position if position is not None else 2**62
        rows = self.registry.db.read(
            f"SELECT digest FROM {self.queries.p}manifests WHERE repository = ? AND children LIKE ? "
            "AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?) ORDER BY digest LIMIT 16",
            (repository, f'%"{digest}"%', limit, limit))
        return [row[0] for row in rows if row[0] != digest]

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

    def decide(self, subject: PullSubject, metadata: dict[str, str], position: int | None,
               depth: int = 0) -> Decision:
        if subject.artifact_type in formats.SIGNATURE_ARTIFACTS:
            return Decision(self.name, True, "signature artifacts pass", {"signature_artifact": True})
        policy_version, keys_version, found = self.signatures.lookups(self.name, subject, position)
        key = (self.name, subject.repository, subject.digest, policy_version, keys_version, tuple(found))
        decision = self.cache.get(key)
        if decision is None:
            decision = self._decide(subject, position, policy_version, keys_version, found)
            self.cache.put(key, decision)
        if decision.allowed or depth:
            return decision
        # A client pulls a multi-platform image's index, then its platform manifest by digest:
        # `cosign sign` signs the index only (without --recursive), so a manifest an allowed
        # index lists is allowed, through that index.
        for parent in self.signatures.parents(subject.repository, subject.digest, position):
            through = self.decide(PullSubject(subject.project, subject.repository, parent, "", None),
                                  metadata, position, depth=1)
            if through.allowed:
                return Decision(self.name, True, f"{through.reason}, through the index {parent}",
                                {**decision.evidence, "through_index": parent, "index": through.evidence})
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
