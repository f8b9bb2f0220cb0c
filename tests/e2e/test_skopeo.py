"""skopeo against the registry under test, the way a user would drive it.

Run against the reference implementation with
``TIDEMARK_E2E_TARGET=distribution python -m pytest tests/e2e -q``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import oci_images
from .oci_images import BuiltImage, BuiltIndex, read_blob, read_json_blob, resolve_tag

pytestmark = pytest.mark.e2e


@pytest.fixture
def image(tmp_path: Path) -> BuiltImage:
    return oci_images.build_image(tmp_path / "image-layout", tag="v1", seed=1)


@pytest.fixture
def index(tmp_path: Path) -> BuiltIndex:
    return oci_images.build_multiplatform_index(tmp_path / "index-layout", tag="v1", seed=2)


@pytest.fixture
def pushed_image(registry, skopeo, repo, image) -> str:
    """The multi-layer image pushed as ``repo:v1``; returns its reference."""
    ref = registry.ref(repo, "v1")
    skopeo.copy(f"oci:{image.layout_dir}:v1", ref)
    return ref


@pytest.fixture
def pushed_index(registry, skopeo, repo, index) -> str:
    """The two-platform index pushed with ``--all`` as ``repo:v1``; returns its reference."""
    ref = registry.ref(repo, "v1")
    skopeo.copy(f"oci:{index.layout_dir}:v1", ref, "--all")
    return ref


def assert_blobs_identical(src_layout: Path, out_layout: Path, digests: list[str]) -> None:
    for digest in digests:
        assert read_blob(out_layout, digest) == read_blob(src_layout, digest), digest


def test_multi_layer_image_round_trips_byte_identical(skopeo, image, pushed_image, tmp_path):
    # given the image was pushed from an OCI layout (pushed_image)
    # when it is pulled back into a new OCI layout
    out = tmp_path / "pulled"
    skopeo.copy(pushed_image, f"oci:{out}:pulled")

    # then manifest, config and every layer come back with the same digests and bytes
    descriptor = resolve_tag(out, "pulled")
    manifest = read_json_blob(out, descriptor["digest"])
    assert descriptor["digest"] == image.manifest_digest
    assert manifest["config"]["digest"] == image.config_digest
    assert [layer["digest"] for layer in manifest["layers"]] == image.layer_digests
    assert_blobs_identical(image.layout_dir, out,
                           [image.manifest_digest, image.config_digest, *image.layer_digests])


def test_multi_platform_index_round_trips_with_all_platforms(skopeo, index, pushed_index, tmp_path):
    # given the index was pushed with --all (pushed_index)
    # when it is pulled back with --all
    out = tmp_path / "pulled"
    skopeo.copy(pushed_index, f"oci:{out}:pulled", "--all")

    # then the same index comes back, with both platforms' images complete
    descriptor = resolve_tag(out, "pulled")
    assert descriptor["digest"] == index.index_digest
    pulled_index = read_json_blob(out, index.index_digest)
    platforms = {f"{m['platform']['os']}/{m['platform']['architecture']}": m["digest"]
                 for m in pulled_index["manifests"]}
    assert platforms == {name: img.manifest_digest for name, img in index.images.items()}
    for img in index.images.values():
        assert_blobs_identical(index.layout_dir, out,
                               [img.manifest_digest, img.config_digest, *img.layer_digests])


def test_inspect_raw_returns_the_pushed_index_bytes(skopeo, index, pushed_index):
    # given a pushed multi-platform index
    # when the user inspects it raw
    raw = skopeo.inspect(pushed_index, "--raw").stdout.encode()

    # then they get the index exactly as it was pushed
    assert raw == read_blob(index.layout_dir, index.index_digest)


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_inspect_with_override_arch_shows_that_platforms_image(skopeo, index, pushed_index, arch):
    # given a pushed index with linux/amd64 and linux/arm64 images
    # when the user inspects it asking for one architecture
    info = skopeo.inspect_json(pushed_index, global_args=("--override-arch", arch,
                                                          "--override-os", "linux"))

    # then the details are those of that platform's image
    expected = index.images[f"linux/{arch}"]
    assert info["Architecture"] == arch
    assert info["Os"] == "linux"
    assert info["Layers"] == expected.layer_digests
    # skopeo reports the digest of the reference it resolved, i.e. the index
    assert info["Digest"] == index.index_digest


def test_inspect_shows_manifest_digest_layers_and_tags(skopeo, image, pushed_image, repo):
    # given a pushed multi-layer image (pushed_image)
    # when the user inspects it
    info = skopeo.inspect_json(pushed_image)

    # then the digest, layers, platform and tags are those of the pushed image
    assert info["Name"].endswith(repo)
    assert info["Digest"] == image.manifest_digest
    assert info["Layers"] == image.layer_digests
    assert (info["Os"], info["Architecture"]) == ("linux", "amd64")
    assert info["RepoTags"] == ["v1"]


def test_inspect_config_returns_the_pushed_image_config(skopeo, image, pushed_image):
    # given a pushed image; when the user asks for its config
    config = skopeo.inspect_json(pushed_image, "--config")

    # then it is the config that was pushed, including the layer diff_ids
    assert config["rootfs"]["diff_ids"] == image.diff_ids
    assert config["architecture"] == "amd64"


def test_list_tags_lists_every_pushed_tag(registry, skopeo, image, pushed_image, repo):
    # given the same image pushed under three tags
    for tag in ("v2", "latest"):
        skopeo.copy(f"oci:{image.layout_dir}:v1", registry.ref(repo, tag))

    # when the user lists the repository's tags
    tags = skopeo.list_tags(registry.repository_ref(repo))

    # then all three are listed
    assert sorted(tags) == ["latest", "v1", "v2"]


def test_deleted_manifest_can_no_longer_be_inspected(registry, skopeo, image, index, repo):
    # given an image tagged v1 and an unrelated index tagged keep in the same repository
    skopeo.copy(f"oci:{image.layout_dir}:v1", registry.ref(repo, "v1"))
    skopeo.copy(f"oci:{index.layout_dir}:v1", registry.ref(repo, "keep"), "--all")

    # when the user deletes the image by digest
    skopeo.delete(registry.ref(repo, digest=image.manifest_digest))

    # then neither its digest nor its tag resolves any more
    by_digest = skopeo.inspect(registry.ref(repo, digest=image.manifest_digest), check=False)
    assert by_digest.returncode != 0
    assert "manifest unknown" in by_digest.stderr.lower()
    assert skopeo.inspect(registry.ref(repo, "v1"), check=False).returncode != 0
    # and the other image is untouched
    assert skopeo.list_tags(registry.repository_ref(repo)) == ["keep"]
    assert skopeo.inspect_json(registry.ref(repo, "keep"), "--raw")["manifests"]


def test_cross_repository_copy_is_pullable_from_the_target(registry, skopeo, image, repo, tmp_path):
    # given an image in library/<x>-a
    source, target = registry.ref(f"{repo}-a", "1"), registry.ref(f"{repo}-b", "1")
    skopeo.copy(f"oci:{image.layout_dir}:v1", source)

    # when the user copies it to another repository of the same registry
    skopeo.copy(source, target)

    # then it can be pulled from the new repository, byte-identical
    out = tmp_path / "pulled"
    skopeo.copy(target, f"oci:{out}:pulled")
    assert resolve_tag(out, "pulled")["digest"] == image.manifest_digest
    assert_blobs_identical(image.layout_dir, out, [image.config_digest, *image.layer_digests])
    assert skopeo.inspect_json(target)["Digest"] == image.manifest_digest


def test_cross_repository_copy_mounts_layers_instead_of_uploading(registry, skopeo, image, repo):
    # given an image that skopeo itself pushed to library/<x>-a, so its blob-info
    # cache knows where the layers live
    source, target = registry.ref(f"{repo}-a", "1"), registry.ref(f"{repo}-b", "1")
    skopeo.copy(f"oci:{image.layout_dir}:v1", source)

    # when the user copies it to another repository of the same registry
    result = skopeo.copy(source, target, global_args=("--debug",))

    # then every layer is mounted from the source repository (POST ?mount=&from=, 201)
    assert result.stderr.count("... mount OK") == len(image.layer_digests), result.stderr[-3000:]
    assert "started an upload instead" not in result.stderr
