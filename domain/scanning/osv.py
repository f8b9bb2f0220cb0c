"""Vulnerability records in OSV format (https://ossf.github.io/osv-schema/): checked before
they are stored, and the keys a scanner finds them by.

A record is kept as the JSON it came in; checking it means every field the scanner reads has
the type the schema gives it, and every range event of an ecosystem whose versions Tidemark
compares can be read in that ecosystem's order (a record that cannot be compared would be
matched wrongly or not at all). What the scanner never reads is left as it is.
"""

import re
from datetime import datetime, timezone
from typing import Any

import msgspec

from domain.scanning.versions import PARSERS, UnknownVersion, ecosystem_of, parser

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+\-]{0,199}$")
RANGE_TYPES = ("ECOSYSTEM", "SEMVER", "GIT")
EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
SEVERITY_TYPES = ("CVSS_V2", "CVSS_V3", "CVSS_V4", "Ubuntu")


class InvalidRecord(ValueError):
    """A record that is not valid OSV; `where` names the field, `record_id` the record."""

    def __init__(self, problem: str, record_id: str | None = None) -> None:
        super().__init__(problem)
        self.problem, self.record_id = problem, record_id


class RecordKeys(msgspec.Struct, frozen=True):
    """What the store indexes a checked record by."""

    id: str
    modified: str  # UTC, ISO 8601 with microseconds: compares as text
    withdrawn: bool
    packages: list[tuple[str, str]]  # (ecosystem family, normalized package name)


def normalize_name(ecosystem: str, name: str) -> str:
    """The name a package is found by: PyPI's per PEP 503 (`Foo_Bar` is `foo-bar`), the
    others as they are spelled."""
    if ecosystem_of(ecosystem) == "PyPI":
        return re.sub(r"[-_.]+", "-", name).lower()
    return name


def _timestamp(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidRecord(f"{where} must be an RFC 3339 timestamp string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or "T" not in value.upper() or moment.tzinfo is None:
        raise InvalidRecord(f"{where}: {value[:40]!r} is not an RFC 3339 timestamp with a time zone")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _strings(record: dict, key: str) -> None:
    value = record.get(key)
    if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise InvalidRecord(f"{key} must be a list of strings")


def _object(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise InvalidRecord(f"{where} must be an object")
    return value


def _list(value: Any, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRecord(f"{where} must be a list")
    return value


def _check_severity(entries: Any, where: str) -> None:
    for index, entry in enumerate(_list(entries, where)):
        entry = _object(entry, f"{where}[{index}]")
        if entry.get("type") not in SEVERITY_TYPES:
            raise InvalidRecord(f"{where}[{index}].type must be one of {', '.join(SEVERITY_TYPES)}")
        if not isinstance(entry.get("score"), str):
            raise InvalidRecord(f"{where}[{index}].score must be a string")


def _check_range(entry: Any, ecosystem: str, where: str) -> None:
    entry = _object(entry, where)
    kind = entry.get("type")
    if kind not in RANGE_TYPES:
        raise InvalidRecord(f"{where}.type must be one of {', '.join(RANGE_TYPES)}")
    if kind == "GIT" and not isinstance(entry.get("repo"), str):
        raise InvalidRecord(f"{where}.repo is required for a GIT range")
    events = _list(entry.get("events"), f"{where}.events")
    if not events:
        raise InvalidRecord(f"{where}.events must not be empty")
    comparable = kind == "SEMVER" or (kind == "ECOSYSTEM" and ecosystem_of(ecosystem) in PARSERS)
    for number, event in enumerate(events):
        event = _object(event, f"{where}.events[{number}]")
        if len(event) != 1 or next(iter(event)) not in EVENT_KINDS:
            raise InvalidRecord(f"{where}.events[{number}] must have exactly one of {', '.join(EVENT_KINDS)}")
        kind_of_event, value = next(iter(event.items()))
        if not isinstance(value, str) or not value:
            raise InvalidRecord(f"{where}.events[{number}].{kind_of_event} must be a non-empty string")
        if comparable and not (kind_of_event == "introduced" and value == "0"):
            try:
                parser(ecosystem, kind)(value)
            except UnknownVersion as error:
                raise InvalidRecord(f"{where}.events[{number}].{kind_of_event}: {error.message}") from None


def _check_affected(entry: Any, where: str) -> tuple[str, str] | None:
    entry = _object(entry, where)
    package = entry.get("package")
    ecosystem = name = ""
    if package is not None:
        package = _object(package, f"{where}.package")
        ecosystem, name = package.get("ecosystem"), package.get("name")
        if not isinstance(ecosystem, str) or not ecosystem:
            raise InvalidRecord(f"{where}.package.ecosystem must be a non-empty string")
        if not isinstance(name, str) or not name:
            raise InvalidRecord(f"{where}.package.name must be a non-empty string")
    for index, item in enumerate(_list(entry.get("ranges"), f"{where}.ranges")):
        _check_range(item, ecosystem, f"{where}.ranges[{index}]")
    versions = _list(entry.get("versions"), f"{where}.versions")
    if not all(isinstance(v, str) for v in versions):
        raise InvalidRecord(f"{where}.versions must be a list of strings")
    _check_severity(entry.get("severity"), f"{where}.severity")
    for key in ("ecosystem_specific", "database_specific"):
        if entry.get(key) is not None:
            _object(entry[key], f"{where}.{key}")
    return (ecosystem_of(ecosystem), normalize_name(ecosystem, name)) if package is not None else None


def check_record(record: Any) -> RecordKeys:
    """The keys of a valid OSV record, or InvalidRecord naming the field that is not."""
    if not isinstance(record, dict):
        raise InvalidRecord("a record must be a JSON object")
    record_id = record.get("id")
    if not isinstance(record_id, str) or not ID_PATTERN.match(record_id):
        raise InvalidRecord("id must be a string of letters, digits and . _ : + - (at most 200)",
                            record_id if isinstance(record_id, str) else None)
    try:
        modified = _timestamp(record.get("modified"), "modified")
        for key in ("published", "withdrawn"):
            if record.get(key) is not None:
                _timestamp(record[key], key)
        for key in ("aliases", "related", "upstream"):
            _strings(record, key)
        for key in ("summary", "details", "schema_version"):
            if record.get(key) is not None and not isinstance(record[key], str):
                raise InvalidRecord(f"{key} must be a string")
        _check_severity(record.get("severity"), "severity")
        for index, reference in enumerate(_list(record.get("references"), "references")):
            if not isinstance(_object(reference, f"references[{index}]").get("url"), str):
                raise InvalidRecord(f"references[{index}].url must be a string")
        if record.get("database_specific") is not None:
            _object(record["database_specific"], "database_specific")
        packages = []
        for index, entry in enumerate(_list(record.get("affected"), "affected")):
            key = _check_affected(entry, f"affected[{index}]")
            if key is not None and key not in packages:
                packages.append(key)
    except InvalidRecord as error:
        raise InvalidRecord(error.problem, record_id) from None
    return RecordKeys(id=record_id, modified=modified, withdrawn=record.get("withdrawn") is not None,
                      packages=packages)


def reported_id(record: dict) -> str:
    """The id a user searches for: the record's own when it is a CVE, else the CVE it is an
    alias of (the lowest, when several), else the CVE it comes from (`upstream`, as Debian's
    and Ubuntu's records say), else the record's id."""
    record_id = record["id"]
    if record_id.startswith("CVE-"):
        return record_id
    for key in ("aliases", "upstream"):
        cves = sorted(a for a in record.get(key) or [] if isinstance(a, str) and a.startswith("CVE-"))
        if cves:
            return cves[0]
    return record_id
