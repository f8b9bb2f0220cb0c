"""Versions compare as their ecosystems compare them, and OSV ranges follow OSV's rule: the hard
cases (dpkg epochs and `~`, PEP 440 pre- and post-releases, semver pre-releases and build
metadata, Alpine's -r revisions) as tables."""

import pytest

from domain.scanning.versions import UnknownVersion, affects, compare

ORDERED = [  # (ecosystem, lower, higher)
    ("Debian", "1.0~rc1", "1.0"),            # ~ sorts before everything, even the end
    ("Debian", "1.0~~", "1.0~"),
    ("Debian", "2.0", "1:0.1"),              # an epoch beats any upstream version
    ("Debian", "1.2-1", "1.2-1+deb12u1"),
    ("Debian", "1.9", "1.10"),
    ("Debian:12", "2.36-9", "2.36-9+deb12u4"),
    ("Ubuntu", "1.0-1ubuntu1", "1.0-1ubuntu2"),
    ("PyPI", "1.0rc1", "1.0"),               # a pre-release before its release
    ("PyPI", "1.0.dev1", "1.0a1"),
    ("PyPI", "1.0", "1.0.post1"),
    ("PyPI", "1.9", "1.10"),
    ("PyPI", "2.0", "1!0.5"),                # epoch 1 is after every version of epoch 0
    ("npm", "1.0.0-alpha", "1.0.0-alpha.1"),
    ("npm", "1.0.0-alpha.beta", "1.0.0-beta"),
    ("npm", "1.0.0-rc.1", "1.0.0"),
    ("npm", "1.9.0", "1.10.0"),
    ("Go", "v1.2.3", "v1.10.0"),
    ("Alpine", "1.2.3-r1", "1.2.3-r10"),
    ("Alpine", "1.2.3_rc1", "1.2.3"),
    ("Alpine", "1.2.4-r4", "1.2.4_git20230717-r4"),  # apk snapshots sort after the release
    ("Alpine", "1.2.4_git20230717-r4", "1.2.5-r0"),
    ("Alpine", "2.0_svn1-r0", "2.0_svn2-r0"),
]


@pytest.mark.parametrize("ecosystem, lower, higher", ORDERED)
def test_versions_order_as_their_ecosystem_orders_them(ecosystem, lower, higher):
    assert compare(ecosystem, lower, higher) == -1
    assert compare(ecosystem, higher, lower) == 1


@pytest.mark.parametrize("ecosystem, a, b", [
    ("npm", "1.0.0+build.1", "1.0.0+build.2"),  # build metadata does not count
    ("npm", "v1.0.0", "1.0.0"),
    ("PyPI", "1.0", "1.0.0"),
    ("Debian", "1.0", "0:1.0"),                  # no epoch is epoch 0
])
def test_versions_that_are_the_same(ecosystem, a, b):
    assert compare(ecosystem, a, b) == 0


@pytest.mark.parametrize("ecosystem, text", [("PyPI", "not a version"), ("npm", "1.0"),
                                             ("Debian", "!!"), ("Alpine", "%%%"), ("Hackage", "1.0")])
def test_an_unreadable_version_or_ecosystem_is_a_clear_error(ecosystem, text):
    with pytest.raises(UnknownVersion):
        compare(ecosystem, text, text)


def record(ecosystem: str, *events: dict, versions=(), kind="ECOSYSTEM") -> dict:
    return {"package": {"ecosystem": ecosystem, "name": "pkg"}, "versions": list(versions),
            "ranges": [{"type": kind, "events": list(events)}]}


@pytest.mark.parametrize("affected, version, expected", [
    (record("PyPI", {"introduced": "0"}, {"fixed": "2.0"}), "1.9", True),
    (record("PyPI", {"introduced": "0"}, {"fixed": "2.0"}), "2.0", False),
    (record("PyPI", {"introduced": "0"}, {"fixed": "2.0"}), "2.0rc1", True),   # before the fix
    (record("PyPI", {"introduced": "1.5"}, {"fixed": "2.0"}), "1.4", False),
    (record("PyPI", {"introduced": "1.5"}, {"last_affected": "1.7"}), "1.7", True),
    (record("PyPI", {"introduced": "1.5"}, {"last_affected": "1.7"}), "1.7.post1", False),
    # two ranges in one list of events, given out of order: introduced, fixed, introduced again
    (record("npm", {"introduced": "3.0.0"}, {"fixed": "2.1.0"}, {"introduced": "2.0.0"}), "2.5.0", False),
    (record("npm", {"introduced": "3.0.0"}, {"fixed": "2.1.0"}, {"introduced": "2.0.0"}), "3.1.0", True),
    (record("npm", {"introduced": "0"}, {"fixed": "1.2.3"}), "1.2.3-beta.1", True),
    (record("Debian:12", {"introduced": "0"}, {"fixed": "1:2.0-1"}), "2.9-1", True),  # epoch 0
    (record("Debian:12", {"introduced": "0"}, {"fixed": "2.36-9+deb12u4"}), "2.36-9+deb12u3", True),
    (record("Debian:12", {"introduced": "0"}, {"fixed": "1.0"}), "1.0~rc2", True),
    (record("Alpine:v3.19", {"introduced": "0"}, {"fixed": "1.2.3-r5"}), "1.2.3-r10", False),
    (record("Go", {"introduced": "0"}, {"fixed": "1.2.0"}, kind="SEMVER"), "v1.1.9", True),
    (record("PyPI", versions=["1.3"]), "1.3", True),                                   # listed
    (record("PyPI", {"introduced": "0"}, {"fixed": "1.0"}, kind="GIT"), "0.5", False),  # commits
])
def test_osv_ranges_follow_osvs_rule(affected, version, expected):
    assert affects(affected, version) is expected
