"""Pull gates: project policies that may refuse a manifest GET (content trust, vulnerabilities).

A gate is an object with
- `name`: a short word ("cosign", "notation", "vulnerability");
- `applies(metadata) -> bool`: cheap, whether the project's metadata turns the gate on;
- `decide(subject, metadata, position) -> Decision`: may block (it runs in a worker thread);
  `position` is None for now, or a log position for "how was this decided at that moment".

The registry holds its gates in `registry.pull_gates` (a PullGates); capabilities append
theirs when they attach. With no gate on for a project, a pull costs one settings lookup.
The scanner's own pulls (principal kind "scanner") pass every gate, as in Harbor, or no image
could be scanned before it may be pulled.
"""

from typing import Any, Protocol

import anyio.to_thread
import msgspec
import structlog

from domain.errors import PolicyViolation
from domain.names import project_of


class PullSubject(msgspec.Struct, frozen=True):
    project: str
    repository: str
    digest: str
    media_type: str
    artifact_type: str | None


class Decision(msgspec.Struct, frozen=True):
    """One gate's verdict on one artifact; `evidence` names what decided it (policy and
    allowlist versions, report id, signature digests and keys)."""

    gate: str
    allowed: bool
    reason: str = ""
    evidence: dict[str, Any] = {}


class Gate(Protocol):
    name: str

    def applies(self, metadata: dict[str, str]) -> bool: ...

    def decide(self, subject: PullSubject, metadata: dict[str, str], position: int | None) -> Decision: ...


class PullGates:
    def __init__(self, settings_of) -> None:
        self._settings_of = settings_of  # (project, position) -> projections.project_settings.Settings | None
        self.gates: list[Gate] = []
        # (principal, request, subject, decision) -> bool: a refusal a caller may pass anyway
        # (content trust lets signing tools read what they sign: infra/signatures/signer_pass.py).
        self.passes: list = []

    def add(self, gate: Gate) -> None:
        self.gates.append(gate)

    def decisions(self, subject: PullSubject, position: int | None = None) -> list[Decision]:
        """Every gate's decision that applies to the subject's project (blocking)."""
        settings = self._settings_of(subject.project, position)
        metadata = settings.metadata if settings is not None else {}
        return [gate.decide(subject, metadata, position) for gate in self.gates if gate.applies(metadata)]

    async def check(self, principal: Any, repository: str, row: Any, request: Any = None) -> None:
        """Raise PolicyViolation with the first refusing gate's reason; the refusal is logged
        with its evidence (policy and key-set versions, signatures)."""
        if not self.gates or getattr(principal, "kind", "") == "scanner":
            return
        subject = PullSubject(project_of(repository), repository, row.digest, row.media_type,
                              row.artifact_type)
        refusal = await anyio.to_thread.run_sync(self._refusal, subject, principal, request)
        if refusal is not None:
            versions = {k: v for k, v in refusal.evidence.items() if k.endswith("_version")}
            raise PolicyViolation(refusal.reason, {"gate": refusal.gate, **versions})

    def _refusal(self, subject: PullSubject, principal: Any, request: Any) -> Decision | None:
        log = structlog.get_logger("pull_gates")  # looked up per check: follows the logging set now
        for decision in self.decisions(subject):
            if decision.allowed:
                continue
            if any(passes(principal, request, subject, decision) for passes in self.passes):
                log.info("pull let through", gate=decision.gate, repository=subject.repository,
                         digest=subject.digest, principal=getattr(principal, "name", ""))
                continue
            log.warning("pull refused", gate=decision.gate, repository=subject.repository,
                        digest=subject.digest, reason=decision.reason, evidence=decision.evidence)
            return decision
        return None
