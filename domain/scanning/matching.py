"""Which vulnerability records hit which installed packages, and what a user is told.

OS packages are matched by their source package (Debian's and Alpine's records name source
packages; dpkg's `Source:` and apk's origin give it) at the source's version; language
packages by their name as the ecosystem normalizes it. A record counts when one of its
`affected` entries is for the package's ecosystem (a release of it: `Debian:12` records
for a Debian 12 image, `Ubuntu:22.04:LTS` for Ubuntu 22.04; all releases when the image
does not say which) and `versions.affects()` says the version is inside. Withdrawn records
never count. The fix is the lowest `fixed` above the installed version in the ranges that
hit it.
"""

from typing import Callable, Iterable

import msgspec

from domain.scanning.inventory import Package
from domain.scanning.osv import normalize_name, reported_id
from domain.scanning.scan import severity_rank
from domain.scanning.severity import Cvss, severity_of
from domain.scanning.versions import UnknownVersion, affects, ecosystem_of, parser

MAX_DESCRIPTION = 4096
MAX_LINKS = 10

Lookup = Callable[[str, str], Iterable[dict]]  # (ecosystem family, normalized name) -> records


class Hit(msgspec.Struct, omit_defaults=True):
    """One vulnerability of one installed package, in the words of Harbor's report."""

    id: str
    package: str
    version: str
    severity: str
    fix_version: str = ""
    description: str = ""
    links: list[str] = []
    cvss: Cvss = Cvss()
    cwe_ids: list[str] = []
    osv_ids: list[str] = []
    aliases: list[str] = []
    ecosystem: str = ""
    purl: str = ""
    path: str = ""
    source: str = ""  # the source package matched, when it is not the package itself


def key_of(package: Package) -> tuple[str, str, str]:
    """(ecosystem family, name as records spell it, version as records compare it)."""
    if package.kind in ("deb", "apk"):
        return ecosystem_of(package.ecosystem), package.source_name or package.name, \
            package.source_version or package.version
    return ecosystem_of(package.ecosystem), normalize_name(package.ecosystem, package.name), package.version


def _same_ecosystem(record_ecosystem: str, package_ecosystem: str) -> bool:
    if ecosystem_of(record_ecosystem) != ecosystem_of(package_ecosystem):
        return False
    if ":" not in package_ecosystem or ":" not in record_ecosystem:
        return True  # one of them names no release
    return record_ecosystem == package_ecosystem or record_ecosystem.startswith(package_ecosystem + ":")


def fix_version(affected: dict, version: str) -> str:
    """The lowest `fixed` event above the version in the entry's ranges, or ''."""
    ecosystem = affected.get("package", {}).get("ecosystem", "")
    best = best_value = None
    for entry in affected.get("ranges", []):
        kind = entry.get("type", "ECOSYSTEM")
        if kind == "GIT":
            continue
        read = parser(ecosystem, kind)
        try:
            current = read(version)
        except UnknownVersion:
            continue
        for event in entry.get("events", []):
            fixed = event.get("fixed")
            if fixed is None:
                continue
            try:
                bound = read(fixed)
            except UnknownVersion:
                continue
            if current < bound and (best is None or bound < best):
                best, best_value = bound, fixed
    return best_value or ""


def _links(record: dict) -> list[str]:
    urls = [f"https://osv.dev/vulnerability/{record['id']}"]
    references = record.get("references") or []
    for wanted in ("ADVISORY", "WEB", None):
        for reference in references:
            url = reference.get("url")
            if url and url not in urls and (wanted is None or reference.get("type") == wanted):
                urls.append(url)
    return urls[:MAX_LINKS]


def _hit(record: dict, affected: dict, package: Package, source: str) -> Hit:
    severity, cvss = severity_of(record, affected)
    cwes = (record.get("database_specific") or {}).get("cwe_ids") or []
    return Hit(id=reported_id(record), package=package.name, version=package.version, severity=severity,
               fix_version=fix_version(affected, key_of(package)[2]),
               description=(record.get("details") or record.get("summary") or "")[:MAX_DESCRIPTION],
               links=_links(record), cvss=cvss,
               cwe_ids=[c for c in cwes if isinstance(c, str)], osv_ids=[record["id"]],
               aliases=sorted(a for a in record.get("aliases") or [] if a != reported_id(record)),
               ecosystem=package.ecosystem, purl=package.purl, path=package.path,
               source=source if source != package.name else "")


def _merge(kept: Hit, other: Hit) -> Hit:
    """Two records (a GHSA and a PYSEC of one CVE) for one package: one row, the graver
    severity, every OSV id."""
    first, second = (kept, other) if severity_rank(kept.severity) >= severity_rank(other.severity) else (other, kept)
    return msgspec.structs.replace(
        first, osv_ids=sorted(set(first.osv_ids) | set(second.osv_ids)),
        aliases=sorted((set(first.aliases) | set(second.aliases) | set(second.osv_ids)) - {first.id}),
        fix_version=first.fix_version or second.fix_version,
        links=list(dict.fromkeys(first.links + second.links))[:MAX_LINKS])


def package_hits(package: Package, records: Iterable[dict]) -> list[Hit]:
    """The records among `records` (found by the package's name) that hit the package."""
    family, name, version = key_of(package)
    hits = []
    for record in records:
        if record.get("withdrawn"):
            continue
        for affected in record.get("affected") or []:
            entry = affected.get("package") or {}
            ecosystem = entry.get("ecosystem", "")
            if normalize_name(ecosystem, entry.get("name", "")) != name or \
                    not _same_ecosystem(ecosystem, package.ecosystem):
                continue
            try:
                hit = affects(affected, version)
            except UnknownVersion:  # a version its ecosystem cannot read: no claim either way
                continue
            if hit:
                hits.append(_hit(record, affected, package, name))
                break
    return hits


def match(packages: Iterable[Package], lookup: Lookup) -> list[Hit]:
    """Every vulnerability of every package: one row per reported id, package, version."""
    rows: dict[tuple[str, str, str], Hit] = {}
    for package in packages:
        family, name, _ = key_of(package)
        for hit in package_hits(package, lookup(family, name)):
            key = (hit.id, hit.package, hit.version)
            rows[key] = _merge(rows[key], hit) if key in rows else hit
    return sorted(rows.values(), key=lambda h: (-severity_rank(h.severity), h.id, h.package, h.version))
