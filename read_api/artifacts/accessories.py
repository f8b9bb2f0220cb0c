"""An artifact's accessories (signatures, SBOMs, attestations): the manifests whose
`subject` is the artifact, found through the referrers index; Harbor's `q` (`type`, `digest`)
and paging."""

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from infra.http.rest import paged, paging
from infra.http.resources import find_artifact, full_repository_name, project_for
from infra.schemas.query_language import parse_query

KNOWN = {
    "application/vnd.dev.cosign.artifact.sig.v1+json": "signature.cosign",
    "application/vnd.cncf.notary.signature": "signature.notation",
    "application/vnd.goharbor.harbor.sbom.v1": "harbor.sbom",
    "application/spdx+json": "sbom.spdx",
    "application/vnd.cyclonedx+json": "sbom.cyclonedx",
}


def accessory_type(artifact_type: str | None) -> str:
    return KNOWN.get(artifact_type or "", artifact_type or "subject.accessory")


def accessory_resp(registry, name: str, subject, row) -> dict:
    """One accessory (`row`, a referrer manifest) of the artifact `subject` in repository `name`."""
    artifact = registry.history.artifact(name, row.digest, None)
    return {"id": artifact.id if artifact else 0, "artifact_id": artifact.id if artifact else 0,
            "subject_artifact_id": subject.id, "subject_artifact_digest": subject.digest,
            "subject_artifact_repo": name, "digest": row.digest, "size": row.size,
            "type": accessory_type(row.artifact_type), "icon": "",
            "creation_time": artifact.pushed_at if artifact else ""}


def _matches(accessory: dict, terms) -> bool:
    for term in terms:
        value = accessory[term.key]
        if term.op == "eq" and value != term.value or term.op == "fuzzy" and term.value.lower() not in value.lower() \
                or term.op == "in" and value not in term.value \
                or term.op == "range" and not ((term.value[0] or "") <= value <= (term.value[1] or value)):
            return False
    return True


def _accessories(registry, name: str, subject) -> list[dict]:
    return [accessory_resp(registry, name, subject, row) for row in registry.queries.referrers(name, subject.digest)]


@get("/api/v2.0/projects/{project_name:str}/repositories/{repository_name:str}/artifacts/{reference:str}/accessories")
async def list_accessories(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                           reference: str = Parameter(), q: FromQuery[str | None] = None,
                           page: FromQuery[int] = 1, page_size: FromQuery[int] = 10) -> Response:
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    terms = parse_query(q, {"type", "digest"})
    offset, limit = paging(page, page_size)
    subject = await find_artifact(who.registry, name, reference, None)
    found = [a for a in await anyio.to_thread.run_sync(_accessories, who.registry, name, subject)
             if _matches(a, terms)]
    return paged(request, found[offset:offset + limit], len(found), page, page_size)
