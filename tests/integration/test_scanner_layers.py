"""Layer readers on tars built here: the inventory an image's layers make, whiteouts and links
included, for gzip, zstd and plain layers."""

import json

import pytest

from domain.scanning.inventory import kind_of
from infra.scanner.layers import Budget, Limits, read_layer
from infra.scanner.scan_run import builtin_inventory
from infra.scanner.puller import Image
from tests.scanner_images import (
    apk_installed, compress, dist_info, dpkg_status, os_release, package_json, tar_of,
)

SITE = "usr/lib/python3/dist-packages"
ROOMY = Limits(uncompressed_bytes=1 << 30, member_bytes=1 << 24, members=100_000, wanted_bytes=1 << 28)


def image_of(tmp_path, *layers, how="gzip"):
    files = []
    for number, members in enumerate(layers):
        path = tmp_path / f"layer{number}"
        path.write_bytes(compress(tar_of(members), how))
        files.append((f"sha256:{number:064x}", path))
    return Image(digest="sha256:" + "0" * 64, media_type="", layers=files, platform="")


def found(tmp_path, *layers, how="gzip"):
    system, packages = builtin_inventory(image_of(tmp_path, *layers, how=how), Budget(ROOMY))
    return system, sorted((p.kind, p.name, p.version) for p in packages)


@pytest.mark.parametrize("how", ["gzip", "zstd", "none"])
def test_every_reader_finds_its_packages_in_any_compression(tmp_path, how):
    base = [("symlink", "etc/os-release", "../usr/lib/os-release"),
            ("file", "usr/lib/os-release", os_release("debian", "12")),
            ("file", "var/lib/dpkg/status", dpkg_status([("bash", "5.2.15-2+b2"),
                                                         ("libssl3", "3.0.11-1~deb12u2", "openssl"),
                                                         ("gone", "1.0", None, "deinstall ok config-files")]))]
    apps = [dist_info(SITE, "requests", "2.31.0"),
            ("file", "usr/local/lib/python3.11/site-packages/six-1.16.0.egg-info/PKG-INFO",
             b"Metadata-Version: 1.1\nName: six\nVersion: 1.16.0\n"),
            package_json("srv/app", "lodash", "4.17.20"),
            package_json("srv/app", "@babel/core", "7.22.0"),
            ("file", "srv/app/node_modules/lodash/lib/package.json", b'{"name": "not-a-package", "version": "1"}'),
            ("file", "srv/app/package.json", b'{"name": "the-app-itself", "version": "0.0.1"}')]
    system, packages = found(tmp_path, base, apps, how=how)
    assert system.ecosystem("Debian") == "Debian:12"
    assert packages == [("deb", "bash", "5.2.15-2+b2"), ("deb", "libssl3", "3.0.11-1~deb12u2"),
                        ("npm", "@babel/core", "7.22.0"), ("npm", "lodash", "4.17.20"),
                        ("python", "requests", "2.31.0"), ("python", "six", "1.16.0")]


def test_distroless_status_d_files_and_alpine_apk_databases(tmp_path):
    distroless = [("file", "etc/os-release", os_release("debian", "12")),
                  ("file", "var/lib/dpkg/status.d/base", b"Package: base-files\nVersion: 12.4\nArchitecture: amd64\n"),
                  ("file", "var/lib/dpkg/status.d/base.md5sums", b"abc  etc/debian_version\n")]
    assert found(tmp_path, distroless)[1] == [("deb", "base-files", "12.4")]
    alpine = [("file", "etc/os-release", os_release("alpine", "3.19.1")),
              ("file", "lib/apk/db/installed", apk_installed([("musl", "1.2.4_git20230717-r4", "musl"),
                                                              ("libcrypto3", "3.1.4-r5", "openssl")]))]
    system, packages = builtin_inventory(image_of(tmp_path, alpine), Budget(ROOMY))
    assert system.ecosystem("Alpine") == "Alpine:v3.19"
    assert sorted((p.name, p.source_name, p.ecosystem) for p in packages) == [
        ("libcrypto3", "openssl", "Alpine:v3.19"), ("musl", "musl", "Alpine:v3.19")]
    assert packages[0].purl.startswith("pkg:apk/alpine/")


def test_a_whiteout_in_an_upper_layer_removes_a_package_directory_of_a_lower_one(tmp_path):
    lower = [dist_info(SITE, "requests", "2.31.0"), dist_info(SITE, "idna", "3.4")]
    upper = [("whiteout", f"{SITE}/requests-2.31.0.dist-info")]
    assert found(tmp_path, lower, upper)[1] == [("python", "idna", "3.4")]


def test_an_opaque_directory_hides_the_lower_layers_but_not_its_own_layer(tmp_path):
    lower = [package_json("app", "old-a", "1.0.0"), package_json("app", "old-b", "1.0.0")]
    upper = [package_json("app", "new", "2.0.0"), ("opaque", "app/node_modules")]  # listed after: still kept
    assert found(tmp_path, lower, upper)[1] == [("npm", "new", "2.0.0")]


def test_a_whiteout_does_not_remove_what_its_own_layer_adds(tmp_path):
    lower = [("file", "var/lib/dpkg/status", dpkg_status([("old", "1")]))]
    upper = [("file", "var/lib/dpkg/status", dpkg_status([("new", "2")])), ("whiteout", "var/lib/dpkg/status")]
    assert found(tmp_path, lower, upper)[1] == [("deb", "new", "2")]


def test_an_upper_layer_rewriting_the_status_file_replaces_the_lower_packages(tmp_path):
    lower = [("file", "var/lib/dpkg/status", dpkg_status([("curl", "7.88.1-10"), ("wget", "1.21")]))]
    upper = [("file", "var/lib/dpkg/status", dpkg_status([("curl", "7.88.1-10+deb12u5")]))]
    assert found(tmp_path, lower, upper)[1] == [("deb", "curl", "7.88.1-10+deb12u5")]


def test_a_hard_link_to_a_metadata_file_reads_the_same_bytes(tmp_path):
    layer = [dist_info(SITE, "attrs", "23.1.0"),
             ("hardlink", f"{SITE}/attrs_copy-23.1.0.dist-info/METADATA", f"{SITE}/attrs-23.1.0.dist-info/METADATA")]
    assert found(tmp_path, layer)[1] == [("python", "attrs", "23.1.0"), ("python", "attrs", "23.1.0")]


def test_a_package_lock_adds_pinned_dependencies_once_and_leaves_dev_ones_out(tmp_path):
    lock = {"lockfileVersion": 3, "packages": {
        "": {"name": "app"},
        "node_modules/lodash": {"version": "4.17.20"},
        "node_modules/express": {"version": "4.18.2"},
        "node_modules/jest": {"version": "29.0.0", "dev": True}}}
    layer = [package_json("srv", "lodash", "4.17.20"),
             ("file", "srv/package-lock.json", json.dumps(lock).encode())]
    assert found(tmp_path, layer)[1] == [("npm", "express", "4.18.2"), ("npm", "lodash", "4.17.20")]


def test_only_metadata_files_are_read():
    assert kind_of("var/lib/dpkg/status") == "dpkg"
    assert kind_of("usr/lib/python3/dist-packages/a-1.dist-info/METADATA") == "python"
    assert kind_of("app/node_modules/@s/p/package.json") == "npm"
    assert kind_of("app/node_modules/p/node_modules/q/package.json") == "npm"
    assert kind_of("app/node_modules/p/dist/package.json") is None
    assert kind_of("usr/bin/bash") is None
    assert kind_of("home/METADATA") is None


def test_read_layer_keeps_links_and_whiteouts_and_skips_other_files(tmp_path):
    path = tmp_path / "layer"
    path.write_bytes(compress(tar_of([("file", "usr/bin/tool", b"\x7fELF"), ("symlink", "bin", "usr/bin"),
                                      ("whiteout", "opt/x"), ("dir", "var")])))
    entries = read_layer(path, "sha256:1", lambda p: False, Budget(ROOMY))
    assert [(e.kind, e.path) for e in entries] == [("symlink", "bin"), ("whiteout", "opt/x")]
