"""Signing tools read what they sign: `cosign sign` GETs the manifest by digest before it
pushes the signature (Harbor refuses that read, goharbor/harbor#22650). With
`content_trust_signer_pull` on (the default), a content-trust refusal is passed for a GET
- by digest (signing names one manifest; a deployment by tag stays gated),
- from a cosign or notation client (its User-Agent), and
- by a caller who may push to the repository (who could push the image and its signature
  anyway; a pull-only account, the usual deployment credential, never passes).
The User-Agent alone proves nothing; the push right is what the pass rests on (ADR 0035).
"""

from domain.iam.access import allows

SIGNING_GATES = ("cosign", "notation")
SIGNING_AGENTS = ("cosign/", "notation/", "notation-go/")


def signer_pass(registry):
    def passes(principal, request, subject, decision) -> bool:
        if decision.gate not in SIGNING_GATES or request is None or principal is None:
            return False
        agent = (request.headers.get("user-agent") or "").lower()
        if not agent.startswith(SIGNING_AGENTS):
            return False
        if getattr(request, "params", {}).get("reference") != subject.digest:
            return False
        project = registry.queries.project(subject.project)
        return project is not None and allows(principal, subject.project, project.public, "repository", "push")
    return passes
