import json

import pytest

from domain.errors import ManifestInvalid
from domain.artifacts.manifest_format import OCI_INDEX, OCI_MANIFEST, parse_manifest

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64


def image(**extra) -> dict:
    return {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": D1, "size": 2},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": D2,
                        "size": 10}], **extra}


def test_image_manifest_lists_config_and_layers_as_blobs():
    parsed = parse_manifest(json.dumps(image()).encode(), OCI_MANIFEST)
    assert parsed.blobs == [D1, D2] and parsed.manifests == [] and parsed.blob_bytes == 12
    assert parsed.artifact_type == "application/vnd.oci.image.config.v1+json"


def test_foreign_layers_are_not_required_blobs():
    doc = image()
    doc["layers"].append({"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                          "digest": D3, "size": 5, "urls": ["https://example.invalid"]})
    parsed = parse_manifest(json.dumps(doc).encode(), OCI_MANIFEST)
    assert D3 not in parsed.blobs and parsed.foreign_blobs == [D3]


def test_index_lists_child_manifests():
    doc = {"schemaVersion": 2, "mediaType": OCI_INDEX,
           "manifests": [{"mediaType": OCI_MANIFEST, "digest": D1, "size": 3}]}
    parsed = parse_manifest(json.dumps(doc).encode(), None)
    assert parsed.media_type == OCI_INDEX and parsed.manifests == [D1] and parsed.blobs == []


def test_subject_and_artifact_type_are_read():
    doc = image(subject={"mediaType": OCI_MANIFEST, "digest": D3, "size": 1}, artifactType="x/sig")
    parsed = parse_manifest(json.dumps(doc).encode(), OCI_MANIFEST)
    assert parsed.subject == D3 and parsed.artifact_type == "x/sig"


@pytest.mark.parametrize("body", [b"{", b"[]", b'{"schemaVersion": 1}',
                                  json.dumps(image(schemaVersion=3)).encode(),
                                  json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST}).encode()])
def test_bad_manifests_are_refused(body):
    with pytest.raises(ManifestInvalid):
        parse_manifest(body, OCI_MANIFEST)


def test_content_type_must_agree_with_media_type():
    with pytest.raises(ManifestInvalid):
        parse_manifest(json.dumps(image()).encode(), OCI_INDEX)


def test_bad_descriptor_digest_is_refused():
    doc = image()
    doc["layers"][0]["digest"] = "sha256:nothex"
    with pytest.raises(ManifestInvalid):
        parse_manifest(json.dumps(doc).encode(), OCI_MANIFEST)
