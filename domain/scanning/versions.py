"""Versions compared the way each ecosystem compares them, and OSV's affected ranges.

A vulnerability record in OSV format (what osv.dev publishes) says which versions of a package
are affected with ranges of events (`introduced`, `fixed`, `last_affected`) ordered by the
ecosystem's own rules, and with lists of versions. Comparing them as strings is wrong in every
ecosystem that matters (`1.10` after `1.9`, dpkg's epochs and `~`, PEP 440 pre-releases), so
each ecosystem is compared with the library made for it: python-debian for dpkg, packaging for
PyPI, semver for npm and `SEMVER` ranges, univers for Alpine and the rest it knows.
"""

import re
from functools import cmp_to_key
from typing import Any, Callable

import semver
from debian.debian_support import Version as DpkgVersion
from packaging.version import InvalidVersion, Version as Pep440Version
from univers import versions as univers

from domain.errors import BadRequest


class UnknownVersion(BadRequest):
    """A version string its ecosystem cannot read."""


def _semver(text: str) -> semver.Version:
    cleaned = text.strip().removeprefix("v")
    try:
        return semver.Version.parse(cleaned)
    except ValueError:
        raise UnknownVersion(f"{text[:60]!r} is not a semantic version") from None


def _pep440(text: str) -> Pep440Version:
    try:
        return Pep440Version(text)
    except InvalidVersion:
        raise UnknownVersion(f"{text[:60]!r} is not a PEP 440 version") from None


def _dpkg(text: str) -> DpkgVersion:
    try:
        return DpkgVersion(text)
    except ValueError:
        raise UnknownVersion(f"{text[:60]!r} is not a Debian version") from None


def _univers(kind: type) -> Callable[[str], Any]:
    def parse(text: str):
        try:
            return kind(text)
        except Exception:  # univers raises several kinds for a bad string
            raise UnknownVersion(f"{text[:60]!r} is not a {kind.__name__}") from None
    return parse


class _Semver:
    """semver's order, where build metadata does not count (`1.0.0+b1` == `1.0.0`)."""

    def __init__(self, text: str) -> None:
        self.version = _semver(text)

    def __lt__(self, other: "_Semver") -> bool:
        return self.version.compare(other.version) < 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Semver) and self.version.compare(other.version) == 0


_APK_SNAPSHOT = re.compile(r"_(cvs|svn|git|hg)(?=[0-9]*(?:_|-r|$))")


def _alpine(text: str) -> Any:
    """apk versions through univers' Gentoo rules, which lack apk's snapshot suffixes
    (`_cvs`, `_svn`, `_git`, `_hg`): like `_p`, each sorts after the plain release, so it is
    read as `_p` (their order among themselves, rare in one package's history, is lost)."""
    return _univers(univers.AlpineLinuxVersion)(_APK_SNAPSHOT.sub("_p", text))


# OSV ecosystem names (their prefix: `Debian:12` is Debian) and how to read their versions.
PARSERS: dict[str, Callable[[str], Any]] = {
    "Debian": _dpkg,
    "Ubuntu": _dpkg,
    "PyPI": _pep440,
    "npm": _Semver,
    "Alpine": _alpine,
    "Maven": _univers(univers.MavenVersion),
    "RubyGems": _univers(univers.RubygemsVersion),
    "NuGet": _univers(univers.NugetVersion),
    "Go": _Semver,
    "crates.io": _Semver,
    "Packagist": _univers(univers.ComposerVersion),
}


def ecosystem_of(name: str) -> str:
    """`Debian:12` -> `Debian`; OSV suffixes an ecosystem with its release."""
    return name.split(":", 1)[0]


def parser(ecosystem: str, range_type: str = "ECOSYSTEM") -> Callable[[str], Any]:
    """How to read versions of this ecosystem (a `SEMVER` range is semver whatever it is)."""
    if range_type == "SEMVER":
        return _Semver
    found = PARSERS.get(ecosystem_of(ecosystem))
    if found is None:
        raise UnknownVersion(f"versions of the {ecosystem[:40]!r} ecosystem cannot be compared")
    return found


def compare(ecosystem: str, a: str, b: str) -> int:
    """-1, 0 or 1 as `a` is before, the same as, or after `b` in the ecosystem's order."""
    read = parser(ecosystem)
    left, right = read(a), read(b)
    return -1 if left < right else 1 if right < left else 0


def _in_range(read: Callable[[str], Any], version: Any, events: list[dict]) -> bool:
    """OSV's rule: walk the events in version order (`introduced: "0"` first); the version is
    affected after an `introduced` at or below it, until a `fixed` at or below it or a
    `last_affected` below it."""
    def key(event: dict):
        value = next(iter(event.values()))
        return (0, None) if value == "0" else (1, read(value))

    def order(x, y) -> int:
        kx, ky = key(x), key(y)
        if kx[0] != ky[0]:
            return kx[0] - ky[0]
        if kx[0] == 0:
            return 0
        return -1 if kx[1] < ky[1] else 1 if ky[1] < kx[1] else 0

    affected = False
    for event in sorted((e for e in events if "limit" not in e), key=cmp_to_key(order)):
        kind, value = next(iter(event.items()))
        bound = None if value == "0" else read(value)
        if kind == "introduced" and (bound is None or not version < bound):
            affected = True
        elif kind == "fixed" and not version < bound:
            affected = False
        elif kind == "last_affected" and bound < version:
            affected = False
    return affected


def affects(affected: dict, version: str) -> bool:
    """Whether one `affected` entry of an OSV record covers this version of its package:
    listed in `versions`, or inside one of its `ECOSYSTEM` or `SEMVER` ranges (`GIT` ranges
    name commits, which an installed package does not have, and are skipped)."""
    ecosystem = affected.get("package", {}).get("ecosystem", "")
    read = parser(ecosystem)
    if version in affected.get("versions", []):
        return True
    current = read(version)
    for entry in affected.get("ranges", []):
        kind = entry.get("type", "ECOSYSTEM")
        if kind == "GIT":
            continue
        reader = parser(ecosystem, kind)
        if _in_range(reader, reader(version) if reader is not read else current, entry.get("events", [])):
            return True
    return False
