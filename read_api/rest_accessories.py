"""An artifact's accessories (signatures, SBOMs, attestations): the manifests whose
`subject` is the artifact, found through the referrers index."""

import anyio.to_thread
from litestar import Request, get
from litestar.params import Parameter

from infra.http.resources import find_artifact, full_repository_name, project_for

KNOWN = {
    "application/vnd.dev.cosign.artifact.sig.v1+json": "signature.cosign",
    "application/vnd.cncf.notary.signature": "signature.notation",
    "application/vnd.goharbor.harbor.sbom.v1": "harbor.sbom",
    "application/spdx+json": "sbom.spdx",
    "application/vnd.cyclonedx+json": "sbom.cyclonedx",
}


def accessory_type(artifact_type: str | None) -> str:
    return KNOWN.get(artifact_type or "", artifact_type or "subject.accessory")


@get("/api/v2.0/projects/{project_name:str}/repositories/{repository_name:str}/artifacts/{reference:str}/accessories")
async def list_accessories(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                           reference: str = Parameter()) -> list[dict]:
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    subject = await find_artifact(who.registry, name, reference, None)
    rows = await anyio.to_thread.run_sync(who.registry.queries.referrers, name, subject.digest)
    accessories = []
    for row in rows:
        artifact = await anyio.to_thread.run_sync(who.registry.history.artifact, name, row.digest, None)
        accessories.append({"id": artifact.id if artifact else 0, "artifact_id": artifact.id if artifact else 0,
                            "subject_artifact_id": subject.id, "subject_artifact_digest": subject.digest,
                            "subject_artifact_repo": name, "digest": row.digest, "size": row.size,
                            "type": accessory_type(row.artifact_type), "icon": "",
                            "creation_time": artifact.pushed_at if artifact else ""})
    return accessories
