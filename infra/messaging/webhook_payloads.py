"""What a webhook target receives: Harbor's default JSON, CloudEvents (structured JSON, as
Harbor 2.8+ sends them) or a Slack message, rendered from one occurrence.

Rendering is a pure function of the job and its occurrence, so every attempt of
a job sends the same body.
"""

from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import msgspec

_encoder = msgspec.json.Encoder()

CLOUD_TYPES = {
    "PUSH_ARTIFACT": "harbor.artifact.pushed",
    "PULL_ARTIFACT": "harbor.artifact.pulled",
    "DELETE_ARTIFACT": "harbor.artifact.deleted",
    "QUOTA_EXCEED": "harbor.quota.exceeded",
    "QUOTA_WARNING": "harbor.quota.warned",
    "SCANNING_COMPLETED": "harbor.scan.completed",
    "SCANNING_FAILED": "harbor.scan.failed",
    "SCANNING_STOPPED": "harbor.scan.stopped",
    "REPLICATION": "harbor.replication.status.changed",
    "TAG_RETENTION": "harbor.tag_retention.finished",
    "TAG_CREATED": "io.tidemark.webhook.tag_created",
    "TAG_DELETED": "io.tidemark.webhook.tag_deleted",
    "DELETE_REPOSITORY": "io.tidemark.webhook.repository_deleted",
    "PROJECT_CHANGED": "io.tidemark.webhook.project_changed",
    "ROBOT_CHANGED": "io.tidemark.webhook.robot_changed",
}


def registry_host(external_url: str) -> str:
    return urlsplit(external_url).netloc or external_url


def event_data(job: Any, data: dict, external_url: str, public: bool | None) -> dict:
    """Harbor's `event_data`: resources and repository, plus details for the other kinds."""
    out: dict[str, Any] = {}
    repository = data.get("repository")
    host = registry_host(external_url)
    if data.get("resources"):
        out["resources"] = [
            {"digest": r["digest"], "tag": r["tag"],
             "resource_url": f"{host}/{repository}:{r['tag']}" if r["tag"] and repository
             else f"{host}/{repository}@{r['digest']}" if repository else "",
             **({"scan_overview": r["scan_overview"]} if r.get("scan_overview") else {}),
             **({"sbom_overview": r["sbom_overview"]} if r.get("sbom_overview") else {})}
            for r in data["resources"]]
    if repository:
        namespace, _, name = repository.partition("/")
        out["repository"] = {"date_created": data["occur_at"], "name": name, "namespace": namespace,
                             "repo_full_name": repository,
                             "repo_type": "public" if public else "private"}
    if data.get("retention") is not None:
        out["retention"] = {**data["retention"], "harbor_hostname": host}
    if data.get("replication") is not None:
        replication = data["replication"]
        local = {"endpoint": external_url}
        out["replication"] = {**replication, "harbor_hostname": host,
                              "src_resource": {**replication["src_resource"], **(
                                  local if replication["src_resource"]["registry_name"] == "Local" else {})},
                              "dest_resource": {**replication["dest_resource"], **(
                                  local if replication["dest_resource"]["registry_name"] == "Local" else {})}}
    details = data.get("details")
    if job.event_type in ("QUOTA_EXCEED", "QUOTA_WARNING") and details:
        out["custom_attributes"] = {"Details": _quota_text(job.event_type, details)}
    elif details is not None:
        out["project"] = job.project
        out["change"] = data.get("public_type", "")
        out["details"] = details
    return out


def _quota_text(kind: str, details: dict) -> str:
    used, limit = details.get("used", 0), details.get("limit", 0)
    if kind == "QUOTA_EXCEED":
        return (f"adding {details.get('size', 0)} bytes would exceed the storage limit of "
                f"{limit} bytes (in use: {used} bytes)")
    return f"storage in use ({used} bytes) passed the warning threshold of the limit ({limit} bytes)"


def _time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_body(job: Any, data: dict, external_url: str, public: bool | None) -> dict:
    return {"type": job.event_type, "occur_at": data["occur_at"], "operator": data["operator"],
            "event_data": event_data(job, data, external_url, public)}


def render(job: Any, data: dict, external_url: str, public: bool | None,
           project_id: int) -> tuple[bytes, str]:
    """(body, content type) for a job's target."""
    if job.notify_type == "slack":
        return _encoder.encode({"text": slack_text(job, data, external_url)}), "application/json"
    if job.payload_format == "CloudEvents":
        body = {"specversion": "1.0", "id": job.event_id,
                "source": f"/projects/{project_id}/webhook/policies/{job.policy_id}",
                "type": CLOUD_TYPES[job.event_type], "datacontenttype": "application/json",
                "time": _time(data["occur_at"]), "operator": data["operator"],
                "tidemarkposition": job.position,
                "data": event_data(job, data, external_url, public)}
        return _encoder.encode(body), "application/cloudevents+json"
    return _encoder.encode(default_body(job, data, external_url, public)), "application/json"


def slack_text(job: Any, data: dict, external_url: str) -> str:
    host = registry_host(external_url)
    what = data.get("repository") or job.project
    resources = ", ".join(f"{r['tag'] or r['digest']}" for r in data.get("resources", []))
    target = f"`{host}/{what}`" + (f" ({resources})" if resources else "")
    return (f"*{job.event_type}* in project `{job.project}`: {target} by {data['operator'] or 'system'}"
            f" at {_time(data['occur_at'])}")
