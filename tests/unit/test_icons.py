"""Each artifact type names its own icon; anything else gets the default one."""

from read_api.rest_icons import ICONS, get_icon, icon_for


def test_artifact_types_name_their_icons():
    assert icon_for("IMAGE", "application/vnd.oci.image.config.v1+json") == ICONS["image"]
    assert icon_for("IMAGE_INDEX", None) == ICONS["image"]
    assert icon_for("V1+JSON", "application/vnd.cncf.helm.config.v1+json") == ICONS["chart"]
    assert icon_for("CNAB", "application/vnd.cnab.manifest.v1") == ICONS["cnab"]
    assert icon_for("V1+JSON", "application/vnd.wasm.config.v1+json") == ICONS["wasm"]
    assert icon_for("SBOM", "application/spdx+json") == ICONS["default"]


def test_an_icon_is_named_by_the_digest_of_its_bytes():
    import base64
    import hashlib

    for digest in ICONS.values():
        content = base64.b64decode(get_icon.fn(digest=digest)["content"])
        assert "sha256:" + hashlib.sha256(content).hexdigest() == digest
