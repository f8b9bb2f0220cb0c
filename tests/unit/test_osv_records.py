"""OSV records: what is accepted, what is refused and how the refusal names the field."""

import pytest

from domain.scanning.osv import InvalidRecord, check_record, normalize_name, reported_id
from domain.scanning.severity import severity_of


def record(**overrides):
    base = {"id": "GHSA-aaaa-bbbb-cccc", "modified": "2024-03-01T10:00:00Z", "aliases": ["CVE-2024-0001"],
            "affected": [{"package": {"ecosystem": "PyPI", "name": "Requests_Toolbelt"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0.0rc1"}]}]}]}
    base.update(overrides)
    return base


def refusal(data) -> InvalidRecord:
    with pytest.raises(InvalidRecord) as caught:
        check_record(data)
    return caught.value


def test_a_valid_record_is_indexed_by_family_and_normalized_name():
    keys = check_record(record())
    assert keys.id == "GHSA-aaaa-bbbb-cccc"
    assert keys.packages == [("PyPI", "requests-toolbelt")]
    assert keys.modified == "2024-03-01T10:00:00.000000Z"
    assert not keys.withdrawn


def test_release_suffixed_ecosystems_index_under_their_family():
    keys = check_record(record(affected=[{"package": {"ecosystem": "Debian:12", "name": "openssl"},
                                          "ranges": [{"type": "ECOSYSTEM",
                                                      "events": [{"introduced": "0"}, {"fixed": "1:3.0.11-1~deb12u1"}]}]}]))
    assert keys.packages == [("Debian", "openssl")]


def test_modified_times_compare_in_utc_whatever_the_offset():
    assert check_record(record(modified="2024-03-01T12:00:00+02:00")).modified == "2024-03-01T10:00:00.000000Z"


@pytest.mark.parametrize("change, problem", [
    ({"id": 7}, "id must be a string"),
    ({"modified": "yesterday"}, "modified: 'yesterday' is not an RFC 3339 timestamp"),
    ({"modified": "2024-03-01"}, "is not an RFC 3339 timestamp with a time zone"),
    ({"aliases": "CVE-1"}, "aliases must be a list of strings"),
    ({"affected": [{"package": {"ecosystem": "PyPI"}}]}, "affected[0].package.name must be a non-empty string"),
    ({"affected": [{"package": {"ecosystem": "PyPI", "name": "x"},
                    "ranges": [{"type": "RANGE", "events": [{"introduced": "0"}]}]}]},
     "affected[0].ranges[0].type must be one of ECOSYSTEM, SEMVER, GIT"),
    ({"affected": [{"package": {"ecosystem": "PyPI", "name": "x"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0", "fixed": "1"}]}]}]},
     "affected[0].ranges[0].events[0] must have exactly one of"),
    ({"affected": [{"package": {"ecosystem": "PyPI", "name": "x"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "not a version!"}]}]}]},
     "affected[0].ranges[0].events[1].fixed: 'not a version!' is not a PEP 440 version"),
    ({"affected": [{"package": {"ecosystem": "npm", "name": "x"},
                    "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.2"}]}]}]},
     "affected[0].ranges[0].events[0].introduced: '1.2' is not a semantic version"),
    ({"affected": [{"ranges": [{"type": "GIT", "events": [{"introduced": "abc"}]}]}]},
     "affected[0].ranges[0].repo is required for a GIT range"),
    ({"severity": [{"type": "CVSS_V3"}]}, "severity[0].score must be a string"),
])
def test_a_malformed_record_is_refused_naming_the_field_and_the_record(change, problem):
    error = refusal(record(**change))
    assert problem in error.problem
    if "id" not in change:
        assert error.record_id == "GHSA-aaaa-bbbb-cccc"


def test_a_record_that_is_not_an_object_is_refused():
    assert "must be a JSON object" in refusal(["GHSA-x"]).problem


def test_events_of_ecosystems_tidemark_cannot_compare_are_kept_unchecked():
    keys = check_record(record(affected=[{"package": {"ecosystem": "Hackage", "name": "aeson"},
                                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "weird"}]}]}]))
    assert keys.packages == [("Hackage", "aeson")]


def test_withdrawn_records_are_marked():
    assert check_record(record(withdrawn="2024-04-01T00:00:00Z")).withdrawn


def test_pypi_names_normalize_per_pep_503_and_others_stay_as_spelled():
    assert normalize_name("PyPI", "Zope.Interface__X") == "zope-interface-x"
    assert normalize_name("npm", "@Scope/Pkg") == "@Scope/Pkg"


def test_the_reported_id_is_the_cve_a_record_aliases():
    assert reported_id(record()) == "CVE-2024-0001"
    assert reported_id(record(aliases=["CVE-2024-9", "CVE-2023-5"])) == "CVE-2023-5"
    assert reported_id(record(aliases=["PYSEC-2024-1"])) == "GHSA-aaaa-bbbb-cccc"
    assert reported_id(record(id="CVE-2020-1", aliases=["CVE-2019-1"])) == "CVE-2020-1"
    assert reported_id(record(id="DEBIAN-CVE-2024-2", aliases=[], upstream=["CVE-2024-2"])) == "CVE-2024-2"


@pytest.mark.parametrize("severity, database_specific, expected, score", [
    ([{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}], None, "Critical", 9.8),
    ([{"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"}], None, "Low", 1.8),
    ([{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}], None,
     "Critical", None),
    ([{"type": "CVSS_V3", "score": "garbage"}], {"severity": "MODERATE"}, "Medium", None),
    (None, {"severity": "HIGH"}, "High", None),
    ([{"type": "Ubuntu", "score": "negligible"}], None, "Low", None),
    (None, None, "Unknown", None),
])
def test_severity_comes_from_cvss_vectors_then_database_words(severity, database_specific, expected, score):
    data = record()
    if severity:
        data["severity"] = severity
    if database_specific:
        data["database_specific"] = database_specific
    found, cvss = severity_of(data)
    assert found == expected
    assert cvss.score_v3 == score


def test_a_package_specific_severity_comes_before_the_records():
    data = record(severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}])
    affected = {"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:L/UI:R/S:U/C:L/I:L/A:N"}]}
    assert severity_of(data, affected)[0] == "Low"
