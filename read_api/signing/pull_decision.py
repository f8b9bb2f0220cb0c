"""`GET .../artifacts/{reference}/pull-decision[?at=]`: what every pull gate that applies to
the artifact decides now, or decided at a past moment (settings, trusted keys and signatures
as they were then), with the evidence of each decision."""

import anyio.to_thread
from litestar import Request, get
from litestar.params import FromQuery, Parameter

from infra.http.pull_gates import PullSubject
from infra.http.resources import find_artifact, full_repository_name, project_for
from infra.http.rest_guard import position_in_window


@get("/api/v2.0/projects/{project_name:str}/repositories/{repository_name:str}/artifacts/{reference:str}"
     "/pull-decision")
async def pull_decision(request: Request, project_name: str = Parameter(), repository_name: str = Parameter(),
                        reference: str = Parameter(), at: FromQuery[str | None] = None) -> dict:
    who, project = await project_for(request)
    name = full_repository_name(project.name, repository_name)
    position = await position_in_window(who, at)
    artifact = await find_artifact(who.registry, name, reference, position)
    subject = PullSubject(project.name, name, artifact.digest, artifact.media_type, artifact.artifact_type)
    decisions = await anyio.to_thread.run_sync(who.registry.pull_gates.decisions, subject, position)
    return {"repository": name, "digest": artifact.digest, "at": position,
            "allowed": all(d.allowed for d in decisions),
            "decisions": [{"gate": d.gate, "allowed": d.allowed, "reason": d.reason, "evidence": d.evidence}
                          for d in decisions]}
