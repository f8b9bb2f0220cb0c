"""Matching installed packages against OSV records: what a user sees in the report."""

from domain.scanning.inventory import OperatingSystem, dpkg_packages, npm_package, python_package
from domain.scanning.matching import match
from domain.scanning.osv import check_record

DEBIAN_12 = OperatingSystem(id="debian", version_id="12")


def lookup_of(*records):
    table: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        for key in check_record(record).packages:
            table.setdefault(key, []).append(record)
    return lambda family, name: table.get((family, name), [])


def osv(record_id, ecosystem, name, events=None, versions=None, kind="ECOSYSTEM", **extra):
    affected = {"package": {"ecosystem": ecosystem, "name": name}}
    if events is not None:
        affected["ranges"] = [{"type": kind, "events": events}]
    if versions is not None:
        affected["versions"] = versions
    return {"id": record_id, "modified": "2024-01-01T00:00:00Z", "affected": [affected], **extra}


def deb(name, version, source=None):
    text = f"Package: {name}\nStatus: install ok installed\nVersion: {version}\nArchitecture: amd64\n"
    if source:
        text += f"Source: {source}\n"
    return dpkg_packages(text, "var/lib/dpkg/status", DEBIAN_12)


def pypi(name, version):
    return [python_package(f"Name: {name}\nVersion: {version}\n", f"site-packages/{name}.dist-info/METADATA")]


def npm(name, version):
    return [npm_package(f'{{"name": "{name}", "version": "{version}"}}', f"node_modules/{name}/package.json")]


def ids(hits):
    return sorted((h.id, h.package, h.version, h.fix_version) for h in hits)


def test_debian_binary_packages_match_records_of_their_source_package_at_the_source_version():
    record = osv("DEBIAN-CVE-2024-1", "Debian:12", "openssl",
                 [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}], aliases=["CVE-2024-1"])
    packages = deb("libssl3", "3.0.11-1~deb12u2", "openssl") + deb("openssl", "3.0.13-1~deb12u1")
    hits = match(packages, lookup_of(record))
    assert ids(hits) == [("CVE-2024-1", "libssl3", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1")]
    assert hits[0].source == "openssl"
    assert hits[0].osv_ids == ["DEBIAN-CVE-2024-1"]


def test_a_source_version_in_the_source_field_is_the_one_compared():
    record = osv("DSA-1", "Debian:12", "glibc", [{"introduced": "0"}, {"fixed": "2.36-9+deb12u4"}])
    hits = match(deb("libc6", "2.36-9+deb12u4+b1", "glibc (2.36-9+deb12u3)"), lookup_of(record))
    assert ids(hits) == [("DSA-1", "libc6", "2.36-9+deb12u4+b1", "2.36-9+deb12u4")]


def test_debian_epochs_and_tildes_order_as_dpkg_orders_them():
    record = osv("DSA-2", "Debian:12", "tool", [{"introduced": "0"}, {"fixed": "1:1.0~rc1"}])
    assert ids(match(deb("tool", "2.0"), lookup_of(record)))  # no epoch is before epoch 1
    assert ids(match(deb("tool", "1:1.0~beta"), lookup_of(record)))  # ~beta before ~rc1
    assert not match(deb("tool", "1:1.0"), lookup_of(record))  # 1.0 after 1.0~rc1


def test_records_of_another_debian_release_do_not_match():
    record = osv("DSA-3", "Debian:11", "tool", [{"introduced": "0"}, {"fixed": "9.0"}])
    assert not match(deb("tool", "1.0"), lookup_of(record))


def test_pep_440_pre_releases_are_before_the_release_and_names_normalize():
    record = osv("GHSA-p", "PyPI", "Django_Extensions", [{"introduced": "0"}, {"fixed": "3.0.0"}],
                 aliases=["CVE-2023-7"])
    assert ids(match(pypi("django-extensions", "3.0.0rc2"), lookup_of(record))) == \
        [("CVE-2023-7", "django-extensions", "3.0.0rc2", "3.0.0")]
    assert not match(pypi("django-extensions", "3.0.0"), lookup_of(record))
    assert not match(pypi("django-extensions", "3.0.0.post1"), lookup_of(record))


def test_semver_build_metadata_does_not_count_through_affects():
    record = osv("GHSA-n", "npm", "left-pad", [{"introduced": "1.0.0"}, {"fixed": "1.3.0"}], kind="SEMVER")
    assert not match(npm("left-pad", "1.3.0+build.7"), lookup_of(record))
    assert ids(match(npm("left-pad", "1.3.0-rc.1+build.7"), lookup_of(record))) == \
        [("GHSA-n", "left-pad", "1.3.0-rc.1+build.7", "1.3.0")]
    assert not match(npm("left-pad", "0.9.0"), lookup_of(record))


def test_listed_versions_match_exactly_and_last_affected_bounds_a_range():
    listed = osv("PYSEC-1", "PyPI", "pkg", versions=["1.0", "1.1"])
    bounded = osv("PYSEC-2", "PyPI", "pkg", [{"introduced": "1.0"}, {"last_affected": "1.4"}])
    assert [h.id for h in match(pypi("pkg", "1.1"), lookup_of(listed, bounded))] == ["PYSEC-1", "PYSEC-2"]
    assert [h.id for h in match(pypi("pkg", "1.4"), lookup_of(listed, bounded))] == ["PYSEC-2"]
    assert not match(pypi("pkg", "1.4.1"), lookup_of(listed, bounded))
    assert match(pypi("pkg", "1.4"), lookup_of(bounded))[0].fix_version == ""


def test_the_fix_is_the_lowest_fixed_version_above_the_installed_one():
    record = osv("GHSA-f", "PyPI", "pkg", None)
    record["affected"][0]["ranges"] = [
        {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.5"}, {"introduced": "2.0"},
                                         {"fixed": "2.1.1"}]}]
    assert match(pypi("pkg", "2.0.3"), lookup_of(record))[0].fix_version == "2.1.1"
    assert match(pypi("pkg", "1.0"), lookup_of(record))[0].fix_version == "1.2.5"
    assert not match(pypi("pkg", "1.3"), lookup_of(record))


def test_withdrawn_records_and_git_ranges_never_match():
    withdrawn = osv("GHSA-w", "PyPI", "pkg", [{"introduced": "0"}], withdrawn="2024-02-01T00:00:00Z")
    git_only = osv("OSV-g", "PyPI", "pkg", None)
    git_only["affected"][0]["ranges"] = [{"type": "GIT", "repo": "https://example.invalid/r",
                                          "events": [{"introduced": "0"}]}]
    assert not match(pypi("pkg", "1.0"), lookup_of(withdrawn, git_only))


def test_records_that_alias_one_cve_make_one_row_with_the_graver_severity():
    critical = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    ghsa = osv("GHSA-1", "PyPI", "pkg", [{"introduced": "0"}, {"fixed": "2.0"}], aliases=["CVE-2024-5"],
               database_specific={"severity": "MODERATE", "cwe_ids": ["CWE-79"]})
    pysec = osv("PYSEC-2024-9", "PyPI", "pkg", [{"introduced": "0"}, {"fixed": "2.0"}], aliases=["CVE-2024-5"],
                severity=[{"type": "CVSS_V3", "score": critical}])
    hits = match(pypi("pkg", "1.0"), lookup_of(ghsa, pysec))
    assert len(hits) == 1
    assert (hits[0].id, hits[0].severity, hits[0].cvss.score_v3) == ("CVE-2024-5", "Critical", 9.8)
    assert hits[0].osv_ids == ["GHSA-1", "PYSEC-2024-9"]


def test_a_version_its_ecosystem_cannot_read_is_no_finding():
    record = osv("GHSA-x", "PyPI", "pkg", [{"introduced": "0"}, {"fixed": "2.0"}])
    assert not match(pypi("pkg", "not-a-version"), lookup_of(record))


def test_findings_are_sorted_gravest_first():
    low = osv("GHSA-l", "PyPI", "a", [{"introduced": "0"}], database_specific={"severity": "LOW"})
    high = osv("GHSA-h", "PyPI", "b", [{"introduced": "0"}], database_specific={"severity": "HIGH"})
    hits = match(pypi("a", "1.0") + pypi("b", "1.0"), lookup_of(low, high))
    assert [(h.id, h.severity) for h in hits] == [("GHSA-h", "High"), ("GHSA-l", "Low")]
