"""One scan of one artifact by one scanner: requested, sent to the scanner, then completed,
failed or stopped.

Each run is a stream of its own (`scan_id(repository, digest, generation, kind, run)`), so a
worker loads a handful of events, never an artifact's every report. Run numbers count up per
artifact and kind; the scan view knows the latest, and two requests racing for the same next
run meet a conflict on its id, so an artifact has one run in progress at a time.

A completed run carries its findings (plain JSON, descriptions capped): the report is a fact
of the log, so reports, vulnerability history and pull decisions replay from it.
"""

from typing import Any

import msgspec

from domain.base import Actor, RegistryAggregate
from domain.errors import BadRequest, Conflict
from domain.names import project_stream_id

KINDS = ("vulnerability", "sbom")
TRIGGERS = ("manual", "auto", "scan_all", "schedule", "rematch")  # rematch: after a database import
# Harbor's severities, lowest first ("None" only as an artifact's overall severity).
SEVERITIES = ("Unknown", "Low", "Medium", "High", "Critical")
MAX_DESCRIPTION = 1024
MAX_LINKS = 5
MAX_FINDINGS = 100_000
MAX_REASON = 2048


def scan_id(repository: str, digest: str, generation: int, kind: str, run: int):
    return project_stream_id("scan", generation, repository, digest, kind, str(run))


class Finding(msgspec.Struct, frozen=True, omit_defaults=True):
    """One vulnerability found in one package of an artifact."""

    id: str
    package: str
    version: str
    severity: str
    fix_version: str = ""
    description: str = ""
    links: list[str] = []
    cvss_score: float | None = None
    cvss_vector: str = ""
    ecosystem: str = ""
    purl: str = ""


def severity_rank(severity: str) -> int:
    """Unknown 0 ... Critical 4; anything else counts as Unknown."""
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        return 0


def clean_findings(findings: list[Finding]) -> list[dict[str, Any]]:
    """Findings as stored in the event: known severities, capped text, sorted, one per
    (id, package, version)."""
    if len(findings) > MAX_FINDINGS:
        raise BadRequest(f"a report may hold at most {MAX_FINDINGS} findings")
    unique: dict[tuple[str, str, str], Finding] = {}
    for finding in findings:
        severity = finding.severity if finding.severity in SEVERITIES else "Unknown"
        finding = msgspec.structs.replace(
            finding, severity=severity, description=finding.description[:MAX_DESCRIPTION],
            links=list(finding.links[:MAX_LINKS]))
        unique.setdefault((finding.id, finding.package, finding.version), finding)
    ordered = sorted(unique.values(), key=lambda f: (-severity_rank(f.severity), f.id, f.package, f.version))
    return [msgspec.to_builtins(f) for f in ordered]


def summarize(findings: list[dict[str, Any]]) -> dict[str, Any]:
    """Harbor's summary of a report: counts per severity, total, fixable, and the highest
    severity ("None" when nothing was found)."""
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
    highest = max((severity_rank(s) for s in counts), default=None)
    return {"total": len(findings), "fixable": sum(1 for f in findings if f.get("fix_version")),
            "summary": counts, "severity": "None" if highest is None else SEVERITIES[highest]}


class Scan(RegistryAggregate):
    class Requested(RegistryAggregate.Created):
        """A scan of an artifact was asked for (by a user, on push, or by scan-all)."""

        project: str
        repository: str
        digest: str
        generation: int
        kind: str
        run: int
        trigger: str
        scanner: str  # the registration's uuid
        scanner_name: str
        media_type: str

    class Submitted(RegistryAggregate.Event):
        """The scanner accepted the scan request and named it."""

        scanner_request: str
        attempt: int

        def apply(self, scan: "Scan") -> None:
            scan.status, scan.scanner_request, scan.attempts = "Running", self.scanner_request, self.attempt

    class Completed(RegistryAggregate.Event):
        """The scanner's report came back; its findings and summary as recorded."""

        scanner_version: str
        report_media_type: str
        findings: list[dict]
        summary: dict
        sbom_digest: str | None  # the SBOM accessory, for an SBOM run

        def apply(self, scan: "Scan") -> None:
            scan.status, scan.findings = "Success", self.findings
            scan.scanner_version, scan.report_media_type = self.scanner_version, self.report_media_type

    class Failed(RegistryAggregate.Event):
        """The scan ended in error (scanner unreachable, malformed report, timed out)."""

        reason: str
        attempts: int

        def apply(self, scan: "Scan") -> None:
            scan.status = "Error"

    class Stopped(RegistryAggregate.Event):
        """Someone stopped the scan before it finished."""

        def apply(self, scan: "Scan") -> None:
            scan.status = "Stopped"

    def __init__(self, project: str, repository: str, digest: str, generation: int, kind: str, run: int,
                 trigger: str, scanner: str, scanner_name: str, media_type: str) -> None:
        self.project, self.repository, self.digest = project, repository, digest
        self.generation, self.kind, self.run, self.trigger = generation, kind, run, trigger
        self.scanner, self.scanner_name, self.media_type = scanner, scanner_name, media_type
        self.status = "Pending"
        self.findings: list[dict] = []  # a completed run's, as recorded
        self.scanner_version = self.report_media_type = ""
        self.scanner_request = ""
        self.attempts = 0

    @property
    def finished(self) -> bool:
        return self.status in ("Success", "Error", "Stopped")

    @classmethod
    def request(cls, project: str, repository: str, digest: str, generation: int, kind: str, run: int,
                trigger: str, scanner: str, scanner_name: str, media_type: str, actor: Actor) -> "Scan":
        if kind not in KINDS:
            raise BadRequest(f"scan type must be one of {', '.join(KINDS)}", {"field": "scan_type"})
        if trigger not in TRIGGERS:
            raise BadRequest(f"unknown scan trigger {trigger[:32]!r}")
        return cls._create(cls.Requested, id=scan_id(repository, digest, generation, kind, run),
                           project=project, repository=repository, digest=digest, generation=generation,
                           kind=kind, run=run, trigger=trigger, scanner=scanner, scanner_name=scanner_name,
                           media_type=media_type, **actor.fields())

    def submitted(self, scanner_request: str, attempt: int, actor: Actor) -> None:
        self._must_be_open()
        self.trigger_event(self.Submitted, scanner_request=scanner_request[:256], attempt=attempt,
                           **actor.fields())

    def complete(self, scanner_version: str, report_media_type: str, findings: list[Finding], actor: Actor,
                 sbom_digest: str | None = None) -> None:
        self._must_be_open()
        stored = clean_findings(findings)
        self.trigger_event(self.Completed, scanner_version=scanner_version[:128],
                           report_media_type=report_media_type, findings=stored, summary=summarize(stored),
                           sbom_digest=sbom_digest, **actor.fields())

    def fail(self, reason: str, attempts: int, actor: Actor) -> None:
        self._must_be_open()
        self.trigger_event(self.Failed, reason=reason[:MAX_REASON], attempts=attempts, **actor.fields())

    def stop(self, actor: Actor) -> None:
        if self.finished:
            raise Conflict("the scan is not running", {"status": self.status})
        self.trigger_event(self.Stopped, **actor.fields())

    def _must_be_open(self) -> None:
        if self.finished:
            raise Conflict("the scan has already ended", {"status": self.status})
