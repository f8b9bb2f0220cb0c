"""Deleting an artifact through the management API takes its accessories and an index's
own manifests with it, as Harbor does; what something else still uses stays."""

import json

import pytest

from tests.integration.oci_client import OCI_MANIFEST, descriptor, sha256

ARTIFACTS = "/api/v2.0/projects/library/repositories/app/artifacts"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def _signature(oci, subject: str, body: bytes) -> str:
    signature = oci.image_manifest("library/app", artifactType="application/vnd.dev.cosign.artifact.sig.v1+json",
                                   subject={"mediaType": OCI_MANIFEST, "digest": subject, "size": len(body)})
    digest, _ = oci.push_manifest("library/app", sha256(json.dumps(signature).encode()), signature)
    return digest


def _index(oci, tag: str, *children: tuple[str, bytes]) -> tuple[str, bytes]:
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX,
             "manifests": [{**descriptor(OCI_MANIFEST, body), "platform": {"os": "linux", "architecture": arch}}
                           for (_, body), arch in zip(children, ("amd64", "arm64"))]}
    return oci.push_manifest("library/app", tag, index, media_type=OCI_INDEX)


def _live(http) -> set[str]:
    return {a["digest"] for a in http.get(ARTIFACTS, params={"page_size": 100}).json()}


def test_deleting_an_artifact_deletes_its_signature_and_the_signatures_signature(http, oci):
    subject, body = oci.push_image("library/app", "v1")
    signature = _signature(oci, subject, body)
    raw = http.get(f"/v2/library/app/manifests/{signature}").content
    countersignature = _signature(oci, signature, raw)
    other, _ = oci.push_image("library/app", "v2")

    assert http.delete(f"{ARTIFACTS}/{subject}").status_code == 200
    assert _live(http) == {other}
    for digest in (subject, signature, countersignature):
        assert http.get(f"/v2/library/app/manifests/{digest}").status_code == 404
    # and each deletion names what it went with
    events = http.get("/api/v2.0/events", params={"type": "io.tidemark.artifact.deleted.v1"}).json()
    events = events["events"] if isinstance(events, dict) else events
    causes = {e["data"]["digest"]: (e["data"].get("cause") or {}).get("with") for e in events}
    assert causes == {subject: None, signature: subject, countersignature: subject}


def test_deleting_an_index_deletes_its_platform_manifests_unless_tagged_or_shared(http, oci):
    amd, arm, shared_child = (oci.push_image("library/app", d) for d in ("amd", "arm", "tmp"))
    http.delete(f"{ARTIFACTS}/{amd[0]}/tags/amd")  # untagged: only the index names them
    http.delete(f"{ARTIFACTS}/{arm[0]}/tags/arm")
    index, _ = _index(oci, "multi", amd, arm)
    other_index, _ = _index(oci, "other", shared_child, arm)  # arm is also in another index
    http.delete(f"{ARTIFACTS}/{shared_child[0]}/tags/tmp")

    assert http.delete(f"{ARTIFACTS}/{index}").status_code == 200
    live = _live(http)
    assert index not in live and amd[0] not in live
    assert arm[0] in live  # the other index still needs it
    assert http.get("/v2/library/app/manifests/other").status_code == 200
    assert http.get(f"/v2/library/app/manifests/{arm[0]}").status_code == 200
    assert other_index in live


def test_an_immutable_accessory_tag_refuses_the_whole_delete(http, oci, registry):
    subject, body = oci.push_image("library/app", "v1")
    signature = _signature(oci, subject, body)
    assert http.post(f"{ARTIFACTS}/{signature}/tags", json={"name": "release-sig"}).status_code == 201
    rule = {"tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "release-*"}],
            "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                                "pattern": "**"}]}}
    assert http.post("/api/v2.0/projects/library/immutabletagrules", json=rule).status_code == 201
    head = registry.app.head()
    refused = http.delete(f"{ARTIFACTS}/{subject}")
    assert refused.status_code in (403, 412), refused.text
    assert "immutable" in refused.text
    assert registry.app.head() == head  # nothing recorded, the subject is still there
    assert {subject, signature} <= _live(http)
