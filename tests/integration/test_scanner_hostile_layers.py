"""Hostile layers: names that climb out, links out of the root, devices, bombs. The scanner
reads them without writing anything anywhere, and gives up at its limits with the reason."""

import os

import pytest

from infra.scanner.layers import Budget, LayerRefused, Limits
from infra.scanner.puller import Image
from infra.scanner.scan_run import builtin_inventory
from tests.scanner_images import bomb, compress, dist_info, dpkg_status, os_release, tar_of

SITE = "usr/lib/python3/dist-packages"


def limits(**overrides) -> Limits:
    values = {"uncompressed_bytes": 1 << 30, "member_bytes": 1 << 24, "members": 100_000, "wanted_bytes": 1 << 28}
    return Limits(**{**values, **overrides})


def write_layers(scratch, files):
    """The layers as downloaded into the scan's scratch directory."""
    layers = []
    for number, data in enumerate(files):
        path = scratch / f"layer{number}"
        path.write_bytes(data)
        layers.append((f"sha256:{number:064x}", path))
    return layers


def read_image(layers, **limit):
    image = Image(digest="sha256:" + "0" * 64, media_type="", layers=layers, platform="")
    return builtin_inventory(image, Budget(limits(**limit)))


def scan_layers(scratch, files, **limit):
    return read_image(write_layers(scratch, files), **limit)


def tree(root) -> set[str]:
    return {os.path.relpath(os.path.join(d, n), root) for d, dirs, names in os.walk(root) for n in dirs + names}


@pytest.fixture
def scratch(tmp_path):
    """A scratch directory inside tmp_path, so that anything written beside it shows."""
    inside = tmp_path / "scratch"
    inside.mkdir()
    return inside


def test_names_that_climb_out_of_the_root_are_skipped_and_nothing_is_written(tmp_path, scratch):
    layer = compress(tar_of([("file", "../../evil", b"x"), ("file", "../var/lib/dpkg/status", dpkg_status([("a", "1")])),
                             ("file", "/" + f"{SITE}/../../../../../escaped", b"x"),
                             dist_info(SITE, "kept", "1.0")]))
    layers = write_layers(scratch, [layer])
    before = tree(tmp_path)
    _, packages = read_image(layers)
    assert [(p.name, p.version) for p in packages] == [("kept", "1.0")]
    assert tree(tmp_path) == before  # nothing beside the scratch dir, nothing new in it
    assert not (tmp_path.parent / "evil").exists()


def test_a_link_out_of_the_root_resolves_inside_the_image(tmp_path, scratch):
    assert os.path.exists("/var/lib/dpkg/status") or os.path.exists("/etc/os-release")
    layer = compress(tar_of([
        ("symlink", "var/lib/dpkg/status", "../../../../../../var/lib/dpkg/status"),
        ("symlink", "etc/os-release", "/../../../../etc/os-release"),
        ("symlink", "escape", str(tmp_path)),
        ("file", "escape/pwned", b"written through a link"),
    ]))
    layers = write_layers(scratch, [layer])
    before = tree(tmp_path)
    system, packages = read_image(layers)
    assert packages == [] and system.id == ""  # the host's dpkg database and os-release stay unread
    assert not (tmp_path / "pwned").exists()
    assert tree(tmp_path) == before


def test_a_device_file_where_metadata_should_be_is_not_read_and_hides_the_lower_file(scratch):
    lower = compress(tar_of([("file", "var/lib/dpkg/status", dpkg_status([("bash", "5.2")]))]))
    upper = compress(tar_of([("char", "var/lib/dpkg/status"), ("char", f"{SITE}/x-1.dist-info/METADATA")]))
    assert scan_layers(scratch, [lower, upper])[1] == []


def test_a_decompression_bomb_stops_the_scan_at_the_uncompressed_limit(tmp_path, scratch):
    layer = bomb(64 * 1024 * 1024)
    assert len(layer) < 1024 * 1024
    layers = write_layers(scratch, [layer])
    before = tree(tmp_path)
    with pytest.raises(LayerRefused, match="expands past the limit of 16777216 uncompressed bytes"):
        read_image(layers, uncompressed_bytes=16 * 1024 * 1024)
    assert tree(tmp_path) == before


def test_a_metadata_file_above_the_member_limit_stops_the_scan_naming_it(scratch):
    layer = compress(tar_of([("file", "var/lib/dpkg/status", b"Package: x\n" * 20_000)]))
    with pytest.raises(LayerRefused, match=r"/var/lib/dpkg/status is 220000 bytes, more than the 100000"):
        scan_layers(scratch, [layer], member_bytes=100_000)


def test_too_many_members_stop_the_scan(scratch):
    layer = compress(tar_of([("file", f"f{n}", b"") for n in range(50)]))
    with pytest.raises(LayerRefused, match="more than 10 files"):
        scan_layers(scratch, [layer], members=10)


def test_the_member_limit_counts_across_layers(scratch):
    layer = compress(tar_of([("file", f"f{n}", b"") for n in range(6)]))
    with pytest.raises(LayerRefused, match="more than 10 files"):
        scan_layers(scratch, [layer, layer], members=10)


def test_a_layer_that_is_not_a_tar_is_refused(scratch):
    with pytest.raises(LayerRefused, match="is not a readable tar archive"):
        scan_layers(scratch, [compress(b"this is not a tar archive at all" * 40)])
    with pytest.raises(LayerRefused, match="is not a readable tar archive"):
        scan_layers(scratch, [compress(tar_of([("file", "a", os.urandom(5000))]))[:1000]])  # cut short


def test_os_release_through_a_link_inside_the_root_is_read(scratch):
    layer = compress(tar_of([("symlink", "etc/os-release", "../usr/lib/os-release"),
                             ("file", "usr/lib/os-release", os_release("ubuntu", "22.04"))]))
    system, _ = scan_layers(scratch, [layer])
    assert system.ecosystem("Ubuntu") == "Ubuntu:22.04"
