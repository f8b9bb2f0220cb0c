"""Which webhook events a stored event is: the mapping from the log to Harbor's event types.

| stored event                                  | webhook event type            |
| --------------------------------------------- | ----------------------------- |
| Manifest.Pushed / Repushed (+ tags it got)    | PUSH_ARTIFACT                 |
| PullBatch.Recorded (one per pull)             | PULL_ARTIFACT                 |
| Manifest.Deleted (+ tags it lost)             | DELETE_ARTIFACT               |
| Manifest.Deleted that empties its repository  | DELETE_REPOSITORY (as well)   |
| Tag.Created / Tag.Moved                       | TAG_CREATED                   |
| ... set by a push of a manifest already held  | PUSH_ARTIFACT (as well)       |
| Tag.Removed                                   | TAG_DELETED                   |
| Quota.Exceeded / Quota.Warned                 | QUOTA_EXCEED / QUOTA_WARNING  |
| Project.* (visibility, members, deletion)     | PROJECT_CHANGED               |
| Robot.* of a project robot                    | ROBOT_CHANGED                 |
| RetentionRun.Finished / Failed (not dry runs) | TAG_RETENTION                 |
| Scan.Completed / Failed / Stopped             | SCANNING_COMPLETED / _FAILED / _STOPPED |
| ReplicationExecution.TaskEnded                | REPLICATION (to the local project) |

A push saves the manifest and its tag in one transaction, so the tag is found
in the events that follow the manifest's with the same request id.
"""

from datetime import datetime
from typing import Any, Callable, Iterator
from uuid import UUID, uuid5

import msgspec
from eventsourcing.utils import get_topic, resolve_topic

from domain.artifacts.manifest import Manifest
from domain.artifacts.pulls import PullBatch
from domain.artifacts.tag import Tag
from domain.iam.robot import Robot
from domain.names import project_of
from domain.project import Project
from domain.quota import Quota
from domain.replication.execution import ReplicationExecution
from domain.retention.run import RetentionRun
from domain.scanning.scan import Scan
from domain.topics import canonical, stored_topics
from infra.messaging.public_events import TYPES, event_id, public_type as public_type_of, redact, scope_of

# Topics in their current form: stored topics are compared as `canonical(topic)`.
PUSHED = {get_topic(Manifest.Pushed), get_topic(Manifest.Repushed)}
DELETED = get_topic(Manifest.Deleted)
TAG_SET = {get_topic(Tag.Created), get_topic(Tag.Moved)}
TAG_REMOVED = get_topic(Tag.Removed)
PULLS = get_topic(PullBatch.Recorded)
QUOTA = {get_topic(Quota.Exceeded): "QUOTA_EXCEED", get_topic(Quota.Warned): "QUOTA_WARNING"}
PROJECT_PREFIX = get_topic(Project) + "."
ROBOT_PREFIX = get_topic(Robot) + "."
RETENTION_ENDED = {get_topic(RetentionRun.Finished): None, get_topic(RetentionRun.Failed): "ERROR"}
RETENTION_STARTED = get_topic(RetentionRun.Started)
RETENTION_TASK = get_topic(RetentionRun.TaskRecorded)
SCAN_ENDED = {get_topic(Scan.Completed): "SCANNING_COMPLETED", get_topic(Scan.Failed): "SCANNING_FAILED",
              get_topic(Scan.Stopped): "SCANNING_STOPPED"}
SCAN_REQUESTED = get_topic(Scan.Requested)
REPLICATION_ENDED = get_topic(ReplicationExecution.TaskEnded)
REPLICATION_STARTED = get_topic(ReplicationExecution.Started)
REPLICATION_PLANNED = get_topic(ReplicationExecution.TaskPlanned)
SOURCES = PUSHED | TAG_SET | {DELETED, TAG_REMOVED, PULLS, REPLICATION_ENDED} | set(QUOTA) | set(RETENTION_ENDED) | set(
    SCAN_ENDED) | {
    t for t in TYPES if t.startswith((PROJECT_PREFIX, ROBOT_PREFIX))}
# ... and every form they may be stored under, for queries of the log by topic
STORED_SOURCES = sorted({t for topic in SOURCES for t in stored_topics(resolve_topic(topic))})
_SUB_ID = UUID("0b6f1f7e-5d2e-4a47-8f39-6a1d1e0c2b77")


class Occurrence(msgspec.Struct, frozen=True):
    """One webhook event: its idempotency key, type, project and the facts a payload needs."""

    event_id: str
    event_type: str
    project: str
    data: dict


def epoch(timestamp: str) -> int:
    return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp())


def _base(data: dict, public_type: str, repository: str | None) -> dict:
    return {"operator": data.get("actor", ""), "occur_at": epoch(data["timestamp"]),
            "repository": repository, "public_type": public_type, "resources": []}


Following = Callable[[], Iterator[tuple[Any, dict]]]
Stream = Callable[[], list[tuple[str, dict]]]  # (topic, fields) of the event's stream up to it


def _same_save(data: dict, following: Following) -> Iterator[tuple[str, dict]]:
    """(topic, fields) of the events saved after this one in the same request, in log order."""
    request_id = data.get("request_id")
    if not request_id:
        return
    for notification, later in following():
        if later.get("request_id") != request_id:
            return
        yield canonical(notification.topic), later


def translate(notification: Any, data: dict, following: Following, emptied: bool = False,
              sub_id: str = "", stream: Stream | None = None) -> list[Occurrence]:
    """The webhook events a stored event stands for (none for most)."""
    topic = canonical(notification.topic)
    public_type = public_type_of(topic, data) or ""
    eid = event_id(notification) + sub_id
    if topic in PUSHED:
        tags = sorted({later["tag"] for topic_, later in _same_save(data, following)
                       if topic_ in TAG_SET and later["digest"] == data["digest"]
                       and later["repository"] == data["repository"]})
        return [_artifact(eid, "PUSH_ARTIFACT", data, public_type, data["digest"], tags)]
    if topic == DELETED:
        tags = sorted({later["tag"] for topic_, later in _same_save(data, following)
                       if topic_ == TAG_REMOVED and later["previous_digest"] == data["digest"]
                       and later["repository"] == data["repository"]})
        found = [_artifact(eid, "DELETE_ARTIFACT", data, public_type, data["digest"], tags)]
        if emptied:
            found.append(_artifact(_sub(eid, "repository"), "DELETE_REPOSITORY", data,
                                   public_type, data["digest"], tags))
        return found
    if topic in TAG_SET:
        found = [_artifact(eid, "TAG_CREATED", data, public_type, data["digest"], [data["tag"]])]
        if data.get("pushed"):  # a push of a manifest already here: Harbor calls it a push too
            found.insert(0, _artifact(_sub(eid, "push"), "PUSH_ARTIFACT", data, public_type,
                                      data["digest"], [data["tag"]]))
        return found
    if topic == TAG_REMOVED:
        return [_artifact(eid, "TAG_DELETED", data, public_type, data["previous_digest"], [data["tag"]])]
    if topic == PULLS:
        return [_pull(_sub(eid, str(index)), pull, public_type)
                for index, pull in enumerate(data["pulls"])]
    if topic in QUOTA:
        occurrence = _base(data, public_type, data.get("repository"))
        if data.get("digest"):
            occurrence["resources"] = [{"digest": data["digest"], "tag": ""}]
        occurrence["details"] = {k: data[k] for k in ("used", "limit", "size") if k in data}
        return [Occurrence(eid, QUOTA[topic], data["project"], occurrence)]
    if topic in RETENTION_ENDED:
        found = _retention(eid, data, public_type, RETENTION_ENDED[topic], stream() if stream else [])
        return [found] if found else []
    if topic in SCAN_ENDED:
        found = _scan(eid, SCAN_ENDED[topic], data, public_type, stream() if stream else [],
                      str(notification.originator_id))
        return [found] if found else []
    if topic == REPLICATION_ENDED:
        found = _replication(eid, data, public_type, stream() if stream else [])
        return [found] if found else []
    if topic.startswith((PROJECT_PREFIX, ROBOT_PREFIX)):
        project, _ = scope_of(data)
        if project is None:
            return []
        occurrence = _base(data, public_type, None)
        occurrence["details"] = redact({k: v for k, v in data.items()
                                        if k not in ("timestamp", "originator_topic")})
        kind = "ROBOT_CHANGED" if topic.startswith(ROBOT_PREFIX) else "PROJECT_CHANGED"
        return [Occurrence(eid, kind, project, occurrence)]
    return []


def _sub(eid: str, part: str) -> str:
    return str(uuid5(_SUB_ID, f"{eid}/{part}"))


def _artifact(eid: str, kind: str, data: dict, public_type: str, digest: str,
              tags: list[str]) -> Occurrence:
    occurrence = _base(data, public_type, data["repository"])
    occurrence["resources"] = [{"digest": digest, "tag": tag} for tag in tags] or [
        {"digest": digest, "tag": ""}]
    return Occurrence(eid, kind, project_of(data["repository"]), occurrence)


def _pull(eid: str, pull: dict, public_type: str) -> Occurrence:
    occurrence = {"operator": pull.get("actor", ""), "occur_at": int(pull.get("at", 0)),
                  "repository": pull["repository"], "public_type": public_type,
                  "resources": [{"digest": pull["digest"], "tag": pull.get("tag") or ""}]}
    return Occurrence(eid, "PULL_ARTIFACT", project_of(pull["repository"]), occurrence)


def _retention(eid: str, data: dict, public_type: str, result: str | None,
               stream: list[tuple[str, dict]]) -> Occurrence | None:
    """Harbor's TAG_RETENTION for a run that deleted for real (a dry run sends nothing)."""
    started = next((fields for topic, fields in stream if topic == RETENTION_STARTED), None)
    if started is None or started.get("dry_run"):
        return None
    tasks = [fields for topic, fields in stream if topic == RETENTION_TASK]
    deleted = [{"type": "image", "status": "SUCCESS", "repository": task["repository"],
                "digest": item[0], "tag": ",".join(item[1]),
                "name_tag": f"{task['repository']}:{','.join(item[1])}" if item[1]
                else f"{task['repository']}@{item[0]}"}
               for task in tasks for item in task["items"] if item[4] == "delete"]
    rules = [{"rule_id": rule.get("id"), "priority": rule.get("priority", 0),
              "disabled": rule.get("disabled", False), "action": rule.get("action", "retain"),
              "template": rule.get("template"), "params": rule.get("params", {}),
              "tag_selectors": rule.get("tag_selectors", []),
              "scope_selectors": {"repository": rule.get("repository_selectors", [])}}
             for rule in (started.get("policy") or {}).get("rules", [])]
    occurrence = _base({**data, "actor": started.get("trigger", "")}, public_type, None)
    occurrence["retention"] = {
        "total": sum(task["total"] for task in tasks),
        "retained": sum(task["retained"] for task in tasks),
        "project_name": data["project"], "retention_policy_id": started.get("policy_id"),
        "retention_rule": rules, "result": result or str(data.get("status", "")).upper(),
        "deleted_artifact": deleted}
    return Occurrence(eid, "TAG_RETENTION", data["project"], occurrence)


def _scan(eid: str, kind: str, data: dict, public_type: str, stream: list[tuple[str, dict]],
          report_id: str) -> Occurrence | None:
    """Harbor's SCANNING_* event: the artifact, with the run's scan_overview on its resource
    (an SBOM run's sbom_overview)."""
    requested = next((fields for topic, fields in stream if topic == SCAN_REQUESTED), None)
    if requested is None or requested.get("kind") not in ("vulnerability", "sbom"):
        return None
    submitted = [fields for topic, fields in stream if fields.get("scanner_request")]
    status = {"SCANNING_COMPLETED": "Success", "SCANNING_FAILED": "Error"}.get(kind, "Stopped")
    started, ended = epoch(requested["timestamp"]), epoch(data["timestamp"])
    if requested["kind"] == "sbom":
        overview = {"start_time": requested["timestamp"], "end_time": data["timestamp"], "scan_status": status,
                    "report_id": report_id, "duration": max(0, ended - started),
                    "scanner": {"name": requested.get("scanner_name", ""), "vendor": "",
                                "version": data.get("scanner_version", "")}}
        if data.get("sbom_digest"):
            overview["sbom_digest"] = data["sbom_digest"]
        occurrence = _base({**data, "actor": _scan_actor(requested)}, public_type, requested["repository"])
        occurrence["resources"] = [{"digest": requested["digest"], "tag": "", "sbom_overview": overview}]
        return Occurrence(eid, kind, project_of(requested["repository"]), occurrence)
    summary = data.get("summary") or {}
    overview = {"report_id": report_id,
                "scan_status": status, "severity": summary.get("severity", "") if status == "Success" else "",
                "duration": max(0, ended - started), "start_time": requested["timestamp"],
                "end_time": data["timestamp"], "complete_percent": 100,
                "scanner": {"name": requested.get("scanner_name", ""), "vendor": "",
                            "version": data.get("scanner_version", "")}}
    if status == "Success":
        overview["summary"] = {k: summary.get(k) for k in ("total", "fixable", "summary")}
    if submitted:
        overview["scanner_request"] = submitted[0]["scanner_request"]
    media_type = data.get("report_media_type") or "application/vnd.security.vulnerability.report; version=1.1"
    occurrence = _base({**data, "actor": _scan_actor(requested)}, public_type, requested["repository"])
    occurrence["resources"] = [{"digest": requested["digest"], "tag": "", "scan_overview": {media_type: overview}}]
    return Occurrence(eid, kind, project_of(requested["repository"]), occurrence)


def _scan_actor(requested: dict) -> str:
    return requested.get("trigger", "") if requested.get("trigger") == "auto" else requested.get("actor", "")


def _replication(eid: str, data: dict, public_type: str, stream: list[tuple[str, dict]]) -> Occurrence | None:
    """Harbor's REPLICATION event for one task that ended, sent to the local project's
    policies (the source of a push, the destination of a pull)."""
    started = next((fields for topic, fields in stream if topic == REPLICATION_STARTED), None)
    planned = next((fields for topic, fields in stream if topic == REPLICATION_PLANNED
                    and fields.get("task_no") == data.get("task_no")), None)
    if started is None or planned is None or "repository" not in planned["work"]:
        return None  # a metadata task (projects, robots) names no repository: Harbor has no event for it
    policy, endpoint, work = started["policy"], started.get("endpoint") or {}, planned["work"]
    pull = bool(policy.get("src_registry_id"))
    local_repository = work["destination"] if pull else work["repository"]
    remote_repository = work["repository"] if pull else work["destination"]
    local = {"registry_name": "Local", "registry_type": "harbor", "endpoint": "",
             "namespace": project_of(local_repository)}
    remote = {"registry_name": endpoint.get("name", ""), "registry_type": endpoint.get("type", ""),
              "endpoint": endpoint.get("url", ""), "namespace": remote_repository.rpartition("/")[0]}
    status = "Success" if data["status"] == "Success" else "Failed" if data["status"] == "Error" else "Stopped"
    name_tag = (planned["src_resource"].partition("/")[2] or planned["src_resource"])
    artifact = {"type": planned.get("resource_type", "image"), "status": status, "name_tag": name_tag}
    trigger = str(started.get("trigger", "manual")).upper()
    occurrence = _base({**data, "actor": trigger}, public_type, None)
    occurrence["replication"] = {
        "job_status": data["status"], "artifact_type": planned.get("resource_type", "image"),
        "authentication_type": endpoint.get("credential_type") or "basic",
        "override_mode": bool(policy.get("override", True)), "trigger_type": trigger,
        "policy_creator": policy.get("creator", started.get("actor", "")),
        "execution_timestamp": epoch(started["timestamp"]),
        "src_resource": remote if pull else local, "dest_resource": local if pull else remote,
        ("successful_artifact" if status == "Success" else "failed_artifact"): [artifact]}
    return Occurrence(eid, "REPLICATION", project_of(local_repository), occurrence)
