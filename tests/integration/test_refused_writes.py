"""A refused manifest push stores nothing: its bytes are kept only once every check passed;
and a manifest's own bytes count toward the project's quota."""

import json

import pytest

from tests.integration.oci_client import OCI_MANIFEST, sha256

API = "/api/v2.0"


@pytest.fixture(params=["sqlite", "s3"])
def backend(request):
    return request.param


def _padded(manifest: dict, size: int) -> bytes:
    return json.dumps({**manifest, "annotations": {"pad": "x" * size}}).encode()


def _put(http, repository: str, reference: str, body: bytes):
    return http.put(f"/v2/{repository}/manifests/{reference}", content=body,
                    headers={"content-type": OCI_MANIFEST})


def _used(http, project: str) -> int:
    project_id = http.get(f"{API}/projects/{project}").json()["project_id"]
    return http.get(f"{API}/quotas/{project_id}").json()["used"]["storage"]


def test_a_manifest_naming_unknown_blobs_is_refused_and_not_stored(http, oci, registry):
    manifest = oci.image_manifest("library/app")
    manifest["layers"][0] = {**manifest["layers"][0], "digest": "sha256:" + "0" * 64}
    before = _used(http, "library")
    for n in range(3):
        body = _padded(manifest, 1_000_000 + n)
        response = _put(http, "library/app", f"v{n}", body)
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN"
        assert registry.blobs.size(sha256(body)) is None
    assert _used(http, "library") == before


def test_a_manifest_over_the_quota_is_refused_and_not_stored(http, oci, registry):
    assert http.post(f"{API}/projects", json={"project_name": "small", "storage_limit": 50_000}).status_code == 201
    manifest = oci.image_manifest("small/app")
    used = _used(http, "small")
    body = _padded(manifest, 60_000)
    response = _put(http, "small/app", "v1", body)
    assert response.status_code == 403, response.text
    assert registry.blobs.size(sha256(body)) is None
    assert _used(http, "small") == used


def test_an_immutable_tag_refuses_the_new_manifest_and_stores_nothing(http, oci, registry):
    rule = {"tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "v*"}],
            "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                                "pattern": "**"}]}}
    assert http.post(f"{API}/projects/library/immutabletagrules", json=rule).status_code == 201
    oci.push_image("library/app", "v1")
    body = _padded(oci.image_manifest("library/app"), 10)
    assert _put(http, "library/app", "v1", body).status_code == 403
    assert registry.blobs.size(sha256(body)) is None


def test_a_manifests_own_bytes_count_toward_the_quota(http, oci):
    manifest = oci.image_manifest("library/app")
    before = _used(http, "library")
    body = _padded(manifest, 5_000)
    assert _put(http, "library/app", "v1", body).status_code == 201
    assert _used(http, "library") == before + len(body)
