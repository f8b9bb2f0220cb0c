"""The OCI distribution contract, run against each backend (see test_oci_*.py)."""

import hashlib
import json

import pytest

from tests.integration.oci_client import (
    OCI_INDEX, OCI_LAYER, OCI_MANIFEST, descriptor, sha256,
)


def events(registry) -> int:
    return registry.app.head()


def error_code(response) -> str:
    return response.json()["errors"][0]["code"]


class BlobContract:
    def test_base_endpoint_announces_api_version(self, http):
        response = http.get("/v2/")
        assert response.status_code == 200
        assert response.headers["docker-distribution-api-version"] == "registry/2.0"

    def test_monolithic_push_then_pull_returns_same_bytes(self, http, oci):
        digest = oci.push_blob("library/app", b"layer bytes")
        response = http.get(f"/v2/library/app/blobs/{digest}")
        assert response.status_code == 200
        assert response.content == b"layer bytes"
        assert response.headers["docker-content-digest"] == digest
        head = http.head(f"/v2/library/app/blobs/{digest}")
        assert head.status_code == 200 and head.headers["content-length"] == "11"

    def test_chunked_upload_with_content_range(self, http):
        data = b"a" * 1000 + b"b" * 500
        start = http.post("/v2/library/app/blobs/uploads/")
        assert start.status_code == 202
        location = start.headers["location"]
        first = http.patch(location, content=data[:1000], headers={"content-range": "0-999"})
        assert first.status_code == 202 and first.headers["range"] == "0-999"
        status = http.get(location)
        assert status.status_code == 204 and status.headers["range"] == "0-999"
        second = http.patch(location, content=data[1000:], headers={"content-range": "1000-1499"})
        assert second.headers["range"] == "0-1499"
        done = http.put(f"{location}?digest={sha256(data)}")
        assert done.status_code == 201
        assert http.get(f"/v2/library/app/blobs/{sha256(data)}").content == data

    def test_out_of_order_chunk_is_refused_with_416(self, http):
        location = http.post("/v2/library/app/blobs/uploads/").headers["location"]
        http.patch(location, content=b"x" * 10, headers={"content-range": "0-9"})
        response = http.patch(location, content=b"y" * 10, headers={"content-range": "20-29"})
        assert response.status_code == 416
        assert http.get(location).headers["range"] == "0-9"

    def test_digest_mismatch_leaves_no_blob_and_no_event(self, http, registry):
        before = events(registry)
        wrong = sha256(b"other")
        response = http.post(f"/v2/library/app/blobs/uploads/?digest={wrong}", content=b"payload")
        assert response.status_code == 400 and error_code(response) == "DIGEST_INVALID"
        assert http.head(f"/v2/library/app/blobs/{wrong}").status_code == 404
        assert events(registry) == before

    def test_sha512_digests_are_verified(self, http):
        data = b"sha512 content"
        digest = "sha512:" + hashlib.sha512(data).hexdigest()
        response = http.post(f"/v2/library/app/blobs/uploads/?digest={digest}", content=data)
        assert response.status_code == 201
        assert http.get(f"/v2/library/app/blobs/{digest}").content == data

    def test_range_requests(self, http, oci):
        digest = oci.push_blob("library/app", bytes(range(100)))
        part = http.get(f"/v2/library/app/blobs/{digest}", headers={"range": "bytes=10-19"})
        assert part.status_code == 206 and part.content == bytes(range(10, 20))
        assert part.headers["content-range"] == "bytes 10-19/100"
        beyond = http.get(f"/v2/library/app/blobs/{digest}", headers={"range": "bytes=200-300"})
        assert beyond.status_code == 416
        assert beyond.headers["content-range"] == "bytes */100"

    def test_cancelled_upload_is_unknown_afterwards(self, http, registry):
        location = http.post("/v2/library/app/blobs/uploads/").headers["location"]
        http.patch(location, content=b"partial")
        assert http.delete(location).status_code == 204
        response = http.get(location)
        assert response.status_code == 404 and error_code(response) == "BLOB_UPLOAD_UNKNOWN"

    def test_cross_repository_mount(self, http, oci):
        digest = oci.push_blob("library/source", b"shared layer")
        response = http.post(f"/v2/library/target/blobs/uploads/?mount={digest}&from=library/source")
        assert response.status_code == 201
        assert http.get(f"/v2/library/target/blobs/{digest}").content == b"shared layer"

    def test_mount_of_unknown_blob_falls_back_to_upload_session(self, http):
        digest = sha256(b"nowhere")
        response = http.post(f"/v2/library/target/blobs/uploads/?mount={digest}&from=library/source")
        assert response.status_code == 202 and "/blobs/uploads/" in response.headers["location"]

    def test_blob_delete_unlinks_it(self, http, oci):
        digest = oci.push_blob("library/app", b"to delete")
        assert http.delete(f"/v2/library/app/blobs/{digest}").status_code == 202
        assert http.head(f"/v2/library/app/blobs/{digest}").status_code == 404


class ManifestContract:
    def test_push_by_tag_then_get_by_tag_and_digest(self, http, oci):
        digest, body = oci.push_image("library/app", "v1")
        for reference in ("v1", digest):
            response = http.get(f"/v2/library/app/manifests/{reference}")
            assert response.status_code == 200
            assert response.content == body
            assert response.headers["content-type"] == OCI_MANIFEST
            assert response.headers["docker-content-digest"] == digest
        head = http.head("/v2/library/app/manifests/v1")
        assert head.status_code == 200 and head.headers["content-length"] == str(len(body))

    def test_manifest_with_missing_blob_is_refused_without_event(self, http, oci, registry):
        manifest = oci.image_manifest("library/app")
        manifest["layers"].append(descriptor(OCI_LAYER, b"never pushed"))
        before = events(registry)
        response = http.put("/v2/library/app/manifests/v1", content=json.dumps(manifest),
                            headers={"content-type": OCI_MANIFEST})
        assert response.status_code == 400 and error_code(response) == "MANIFEST_BLOB_UNKNOWN"
        assert events(registry) == before
        assert http.get("/v2/library/app/manifests/v1").status_code == 404

    @pytest.mark.parametrize("reference", ["-starts-with-dash", "t" * 129, "sha256:not-hex",
                                           "sha256:abc", "md5:" + "0" * 32, "a@b"])
    def test_get_or_head_of_an_invalid_reference_is_manifest_unknown(self, http, oci, reference):
        oci.push_image("library/app", "v1")
        response = http.get(f"/v2/library/app/manifests/{reference}")
        assert response.status_code == 404 and error_code(response) == "MANIFEST_UNKNOWN"
        assert http.head(f"/v2/library/app/manifests/{reference}").status_code == 404

    @pytest.mark.parametrize("reference", ["-starts-with-dash", "t" * 129, "a@b"])
    def test_put_with_an_invalid_reference_stays_400(self, http, oci, registry, reference):
        manifest = oci.image_manifest("library/app")
        before = events(registry)
        response = http.put(f"/v2/library/app/manifests/{reference}", content=json.dumps(manifest),
                            headers={"content-type": OCI_MANIFEST})
        assert response.status_code == 400 and error_code(response) == "MANIFEST_INVALID"
        assert events(registry) == before

    def test_malformed_manifest_is_refused(self, http):
        response = http.put("/v2/library/app/manifests/v1", content=b"{not json",
                            headers={"content-type": OCI_MANIFEST})
        assert response.status_code == 400 and error_code(response) == "MANIFEST_INVALID"

    def test_oversized_manifest_is_refused(self, http):
        response = http.put("/v2/library/app/manifests/v1", content=b" " * (4 * 1024 * 1024 + 1),
                            headers={"content-type": OCI_MANIFEST})
        assert response.status_code == 413

    def test_digest_reference_must_match_body(self, http, oci):
        manifest = oci.image_manifest("library/app")
        response = http.put(f"/v2/library/app/manifests/{sha256(b'other')}",
                            content=json.dumps(manifest), headers={"content-type": OCI_MANIFEST})
        assert response.status_code == 400 and error_code(response) == "DIGEST_INVALID"

    def test_index_needs_its_manifests(self, http, oci):
        child_digest, child = oci.push_image("library/app", "amd64")
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": child_digest, "size": len(child),
             "platform": {"architecture": "amd64", "os": "linux"}}]}
        digest, _ = oci.push_manifest("library/app", "multi", index, OCI_INDEX)
        assert http.get("/v2/library/app/manifests/multi").headers["content-type"] == OCI_INDEX
        index["manifests"].append({"mediaType": OCI_MANIFEST, "digest": sha256(b"x"), "size": 1})
        response = http.put("/v2/library/app/manifests/broken", content=json.dumps(index),
                            headers={"content-type": OCI_INDEX})
        assert error_code(response) == "MANIFEST_BLOB_UNKNOWN"

    def test_foreign_layers_need_no_blob(self, http, oci):
        manifest = oci.image_manifest("library/app")
        manifest["layers"].append({
            "mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            "digest": sha256(b"windows base"), "size": 12, "urls": ["https://example.invalid/l"]})
        oci.push_manifest("library/app", "win", manifest)

    def test_moving_a_tag_keeps_history_for_as_of(self, http, oci, registry):
        first, _ = oci.push_image("library/app", "latest")
        position = events(registry)
        second, _ = oci.push_image("library/app", "latest")
        assert http.get("/v2/library/app/manifests/latest").headers["docker-content-digest"] == second
        old = http.get("/v2/library/app/manifests/latest", headers={"tidemark-as-of": str(position)})
        assert old.headers["docker-content-digest"] == first

    def test_delete_by_digest_removes_manifest_and_its_tags(self, http, oci):
        digest, _ = oci.push_image("library/app", "v1")
        assert http.delete(f"/v2/library/app/manifests/{digest}").status_code == 202
        assert error_code(http.get(f"/v2/library/app/manifests/{digest}")) == "MANIFEST_UNKNOWN"
        assert http.get("/v2/library/app/manifests/v1").status_code == 404
        assert http.get("/v2/library/app/tags/list").json()["tags"] == []

    def test_delete_tag_keeps_manifest(self, http, oci):
        digest, _ = oci.push_image("library/app", "v1")
        assert http.delete("/v2/library/app/manifests/v1").status_code == 202
        assert http.get("/v2/library/app/manifests/v1").status_code == 404
        assert http.get(f"/v2/library/app/manifests/{digest}").status_code == 200

    def test_subject_is_answered_and_listed_as_referrer(self, http, oci):
        subject_digest, subject = oci.push_image("library/app", "v1")
        signature = oci.image_manifest("library/app", artifactType="application/vnd.example.sig",
                                       subject={"mediaType": OCI_MANIFEST, "digest": subject_digest,
                                                "size": len(subject)})
        body = json.dumps(signature).encode()
        response = http.put(f"/v2/library/app/manifests/{sha256(body)}", content=body,
                            headers={"content-type": OCI_MANIFEST})
        assert response.headers["oci-subject"] == subject_digest
        listed = http.get(f"/v2/library/app/referrers/{subject_digest}").json()
        assert [m["digest"] for m in listed["manifests"]] == [sha256(body)]
        assert listed["manifests"][0]["artifactType"] == "application/vnd.example.sig"
        filtered = http.get(f"/v2/library/app/referrers/{subject_digest}?artifactType=other/type")
        assert filtered.json()["manifests"] == []
        assert filtered.headers["oci-filters-applied"] == "artifactType"


class ListingContract:
    def test_tags_list_paginates_with_link(self, http, oci):
        digest, body = oci.push_image("library/app", "a")
        for tag in ("b", "c", "d"):
            http.put(f"/v2/library/app/manifests/{tag}", content=body,
                     headers={"content-type": OCI_MANIFEST})
        page = http.get("/v2/library/app/tags/list?n=2")
        assert page.json()["tags"] == ["a", "b"]
        assert 'rel="next"' in page.headers["link"] and "last=b" in page.headers["link"]
        rest = http.get("/v2/library/app/tags/list?n=2&last=b")
        assert rest.json()["tags"] == ["c", "d"]

    def test_catalog_paginates(self, http, oci):
        for name in ("library/one", "library/three", "library/two"):
            oci.push_blob(name, name.encode())
        assert http.get("/v2/_catalog?n=2").json()["repositories"] == ["library/one", "library/three"]
        assert http.get("/v2/_catalog?n=2&last=library/three").json()["repositories"] == ["library/two"]


class BadInputContract:
    def test_bad_names_are_refused(self, http):
        for path in ("/v2/Library/App/tags/list", "/v2/library/../etc/tags/list",
                     "/v2/library/%2e%2e/x/tags/list", "/v2/app/tags/list"):
            response = http.get(path)
            assert response.status_code == 400, path
            assert error_code(response) == "NAME_INVALID"

    def test_unknown_project_is_name_unknown(self, http):
        response = http.post("/v2/nosuchproject/app/blobs/uploads/")
        assert response.status_code == 404 and error_code(response) == "NAME_UNKNOWN"

    def test_invalid_digest_is_refused(self, http):
        response = http.get("/v2/library/app/blobs/sha256:xyz")
        assert response.status_code == 400 and error_code(response) == "DIGEST_INVALID"

    def test_unknown_upload_session(self, http):
        response = http.patch("/v2/library/app/blobs/uploads/0000-not-there", content=b"x")
        assert response.status_code == 404 and error_code(response) == "BLOB_UPLOAD_UNKNOWN"

    def test_upload_path_tricks_are_unknown_sessions(self, http):
        response = http.get("/v2/library/app/blobs/uploads/..%2f..%2fetc")
        assert response.status_code in (400, 404)
        assert error_code(response) in ("BLOB_UPLOAD_UNKNOWN", "NAME_INVALID")


class RebuildContract:
    def test_rebuilt_view_equals_live_view(self, registry, oci):
        from projections.oci_view import OciView
        from projections.projector import checksum
        from projections.rebuild import rebuild

        oci.push_image("library/app", "v1")
        digest, _ = oci.push_image("library/app", "v1")
        oci.http.delete("/v2/library/app/manifests/v1")
        live = checksum(registry.db, "oci_", OciView.tables)
        assert rebuild(registry.app, registry.db, OciView, registry.projector) == live

    def test_another_process_reads_its_own_writes(self, settings, registry, oci):
        from infra.wiring.registry import build_registry

        other = build_registry(settings)
        try:
            other.start(follow=False)
            digest, _ = oci.push_image("library/app", "v1")
            assert other.queries.tag("library/app", "v1") == digest
        finally:
            other.close()


class OciContract(BlobContract, ManifestContract, ListingContract, BadInputContract, RebuildContract):
    """Everything a backend must pass."""
