"""The public, versioned form of events: CloudEvents 1.0 JSON.

Outside subscribers see these, never the internal classes, so internals can
change. The `id` is stable (uuid5 of stream and version) and `position` is the
event's place in the log, from which a subscriber resumes.
"""

from typing import Any
from uuid import UUID, uuid5

from domain.topics import canonical
from domain.iam.robot import is_robot_name, robot_name_project
from infra.auth.secrets import SECRET_FIELDS
from infra.store.event_codec import decode_state

SPEC_VERSION = "1.0"
_ID_NAMESPACE = UUID("1f0e3b8e-7b8a-4c59-9d59-5a2f6b8f0c31")

# Internal topic -> public type. Stored topics are forever; so are these names.
TYPES = {
    "domain.project:Project.Created": "io.tidemark.project.created.v1",
    "domain.project:Project.VisibilityChanged": "io.tidemark.project.visibility_changed.v1",
    "domain.project:Project.MemberAdded": "io.tidemark.project.member_added.v1",
    "domain.project:Project.MemberRoleChanged": "io.tidemark.project.member_role_changed.v1",
    "domain.project:Project.MemberRemoved": "io.tidemark.project.member_removed.v1",
    "domain.project:Project.Recreated": "io.tidemark.project.created.v1",
    "domain.project:Project.Deleted": "io.tidemark.project.deleted.v1",
    "domain.project:Project.MetadataChanged": "io.tidemark.project.metadata_changed.v1",
    "domain.project:Project.CveAllowlistChanged": "io.tidemark.project.cve_allowlist_changed.v1",
    "domain.artifacts.manifest:Manifest.Pushed": "io.tidemark.artifact.pushed.v1",
    "domain.artifacts.manifest:Manifest.Repushed": "io.tidemark.artifact.pushed.v1",
    "domain.artifacts.manifest:Manifest.Deleted": "io.tidemark.artifact.deleted.v1",
    "domain.artifacts.tag:Tag.Created": "io.tidemark.tag.created.v1",
    "domain.artifacts.tag:Tag.Moved": "io.tidemark.tag.moved.v1",
    "domain.artifacts.tag:Tag.Removed": "io.tidemark.tag.deleted.v1",
    "domain.artifacts.blob_link:BlobLink.Linked": "io.tidemark.blob.linked.v1",
    "domain.artifacts.blob_link:BlobLink.Relinked": "io.tidemark.blob.linked.v1",
    "domain.artifacts.blob_link:BlobLink.Unlinked": "io.tidemark.blob.unlinked.v1",
    "domain.artifacts.upload:Upload.Abandoned": "io.tidemark.upload.abandoned.v1",
    "domain.artifacts.pulls:PullBatch.Recorded": "io.tidemark.artifact.pulled_batch.v1",
    "domain.quota:Quota.Warned": "io.tidemark.quota.warning.v1",
    "domain.quota:Quota.Exceeded": "io.tidemark.quota.exceeded.v1",
    "domain.quota:Quota.LimitChanged": "io.tidemark.quota.limit_changed.v1",
    "domain.retention.policy:RetentionPolicy.Created": "io.tidemark.retention.policy_created.v1",
    "domain.retention.policy:RetentionPolicy.Recreated": "io.tidemark.retention.policy_created.v1",
    "domain.retention.policy:RetentionPolicy.Updated": "io.tidemark.retention.policy_updated.v1",
    "domain.retention.policy:RetentionPolicy.Deleted": "io.tidemark.retention.policy_deleted.v1",
    "domain.retention.run:RetentionRun.Started": "io.tidemark.retention.run_started.v1",
    "domain.retention.run:RetentionRun.Finished": "io.tidemark.retention.run_finished.v1",
    "domain.retention.run:RetentionRun.Failed": "io.tidemark.retention.run_failed.v1",
    "domain.iam.user:User.Created": "io.tidemark.user.created.v1",
    "domain.iam.user:User.ProfileUpdated": "io.tidemark.user.updated.v1",
    "domain.iam.user:User.PasswordChanged": "io.tidemark.user.password_changed.v1",
    "domain.iam.user:User.CliSecretSet": "io.tidemark.user.cli_secret_set.v1",
    "domain.iam.user:User.SysadminChanged": "io.tidemark.user.sysadmin_changed.v1",
    "domain.iam.user:User.EnabledChanged": "io.tidemark.user.enabled_changed.v1",
    "domain.iam.user:User.Deleted": "io.tidemark.user.deleted.v1",
    "domain.iam.user:User.OidcLinked": "io.tidemark.user.oidc_linked.v1",
    "domain.iam.user:User.AdminGroupChanged": "io.tidemark.user.admin_group_changed.v1",
    "domain.iam.user:User.UpstreamAccessEnded": "io.tidemark.user.upstream_access_ended.v1",
    "domain.iam.robot:Robot.Created": "io.tidemark.robot.created.v1",
    "domain.iam.robot:Robot.SecretRefreshed": "io.tidemark.robot.secret_refreshed.v1",
    "domain.iam.robot:Robot.Recreated": "io.tidemark.robot.created.v1",
    "domain.iam.robot:Robot.Updated": "io.tidemark.robot.updated.v1",
    "domain.iam.robot:Robot.EnabledChanged": "io.tidemark.robot.enabled_changed.v1",
    "domain.iam.robot:Robot.TrustChanged": "io.tidemark.robot.trust_changed.v1",
    "domain.iam.robot:Robot.Deleted": "io.tidemark.robot.deleted.v1",
    "domain.webhooks.policy:WebhookPolicy.Created": "io.tidemark.webhook.policy_created.v1",
    "domain.webhooks.policy:WebhookPolicy.Recreated": "io.tidemark.webhook.policy_created.v1",
    "domain.webhooks.policy:WebhookPolicy.Updated": "io.tidemark.webhook.policy_updated.v1",
    "domain.webhooks.policy:WebhookPolicy.EnabledChanged": "io.tidemark.webhook.policy_enabled_changed.v1",
    "domain.webhooks.policy:WebhookPolicy.ReplayRequested": "io.tidemark.webhook.policy_replay_requested.v1",
    "domain.webhooks.policy:WebhookPolicy.Deleted": "io.tidemark.webhook.policy_deleted.v1",
    "domain.artifacts.repository_info:RepositoryInfo.Described": "io.tidemark.repository.description_changed.v1",
    "domain.artifacts.repository_info:RepositoryInfo.DescriptionChanged":
        "io.tidemark.repository.description_changed.v1",
    "domain.gc_schedule:GcSchedule.Set": "io.tidemark.gc.schedule_set.v1",
    "domain.gc_schedule:GcSchedule.Changed": "io.tidemark.gc.schedule_set.v1",
    "domain.gc_schedule:GcSchedule.Cleared": "io.tidemark.gc.schedule_cleared.v1",
    "domain.schedule_pause:SchedulePause.Paused": "io.tidemark.schedules.paused.v1",
    "domain.schedule_pause:SchedulePause.PausedAgain": "io.tidemark.schedules.paused.v1",
    "domain.schedule_pause:SchedulePause.Resumed": "io.tidemark.schedules.resumed.v1",
    "domain.signing.trusted_keys:TrustedKeys.KeyAdded": "io.tidemark.project.trusted_key_added.v1",
    "domain.signing.trusted_keys:TrustedKeys.KeyRemoved": "io.tidemark.project.trusted_key_removed.v1",
    "domain.scanning.scan:Scan.Requested": "io.tidemark.scan.requested.v1",
    "domain.scanning.scan:Scan.Submitted": "io.tidemark.scan.submitted.v1",
    "domain.scanning.scan:Scan.Completed": "io.tidemark.scan.completed.v1",
    "domain.scanning.scan:Scan.Failed": "io.tidemark.scan.failed.v1",
    "domain.scanning.scan:Scan.Stopped": "io.tidemark.scan.stopped.v1",
    "domain.scanning.registration:ScannerRegistrations.Registered": "io.tidemark.scanner.registered.v1",
    "domain.scanning.registration:ScannerRegistrations.Changed": "io.tidemark.scanner.changed.v1",
    "domain.scanning.registration:ScannerRegistrations.Removed": "io.tidemark.scanner.removed.v1",
    "domain.scanning.registration:ScannerRegistrations.DefaultChosen": "io.tidemark.scanner.default_chosen.v1",
    "domain.scanning.registration:ScannerRegistrations.ProjectScannerChosen":
        "io.tidemark.scanner.project_scanner_chosen.v1",
    "domain.replication.setup:ReplicationSetup.RegistryAdded": "io.tidemark.replication.registry_added.v1",
    "domain.replication.setup:ReplicationSetup.RegistryChanged": "io.tidemark.replication.registry_changed.v1",
    "domain.replication.setup:ReplicationSetup.RegistryRemoved": "io.tidemark.replication.registry_removed.v1",
    "domain.replication.setup:ReplicationSetup.PolicyCreated": "io.tidemark.replication.policy_created.v1",
    "domain.replication.setup:ReplicationSetup.PolicyChanged": "io.tidemark.replication.policy_changed.v1",
    "domain.replication.setup:ReplicationSetup.PolicyRemoved": "io.tidemark.replication.policy_removed.v1",
    "domain.replication.execution:ReplicationExecution.Started": "io.tidemark.replication.execution_started.v1",
    "domain.replication.execution:ReplicationExecution.TaskEnded": "io.tidemark.replication.task_ended.v1",
    "domain.replication.execution:ReplicationExecution.StopRequested":
        "io.tidemark.replication.execution_stop_requested.v1",
    "domain.replication.execution:ReplicationExecution.Ended": "io.tidemark.replication.execution_ended.v1",
    "domain.replication.metadata:MetadataSource.BatchApplied": "io.tidemark.replication.metadata_batch_applied.v1",
}

# One stored class, two public types: a field the event carries says which (events stored before
# the field existed lack it, so they keep the type they always had).
REFINED = {
    "domain.artifacts.manifest:Manifest.Repushed": ("undeleted", "io.tidemark.artifact.undeleted.v1"),
    "domain.artifacts.tag:Tag.Moved": ("restored_from", "io.tidemark.tag.restored.v1"),
}


def public_type(topic: str, data: dict[str, Any]) -> str | None:
    """The public type of a stored event (its topic in current form, and its fields)."""
    refined = REFINED.get(topic)
    if refined is not None:
        value = data.get(refined[0])
        if value is not None and value is not False:  # a position 0 is a position
            return refined[1]
    return TYPES.get(topic)


# Fields whose values are secrets (sealed in the log, infra/auth/secrets.py) are never shown,
# not even sealed (Harbor redacts them too).

_INTERNAL = {"originator_topic", "timestamp"}


def scope_of(data: dict[str, Any]) -> tuple[str | None, str | None]:
    """(project, repository) an event belongs to; (None, None) for system-level events."""
    repository = data.get("repository")
    if repository:
        return repository.split("/", 1)[0], repository
    if isinstance(data.get("project"), str):
        return data["project"], None
    name = data.get("name")
    if isinstance(name, str) and is_robot_name(name):
        return robot_name_project(name), None
    if "username" in data and "name" not in data:
        return None, None
    return (name, None) if isinstance(name, str) else (None, None)


def event_id(notification) -> str:
    """The stable public id of a stored event (uuid5 of its stream and version)."""
    return str(uuid5(_ID_NAMESPACE, f"{notification.originator_id}/{notification.originator_version}"))


def redact(value: Any) -> Any:
    """The value with every secret field (at any depth) replaced by a marker."""
    if isinstance(value, dict):
        return {k: ("******" if k in SECRET_FIELDS and v else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def cloud_event(notification) -> dict[str, Any] | None:
    """The CloudEvents form of a stored event, or None if it has no public type."""
    topic = canonical(notification.topic)
    if topic not in TYPES:
        return None
    data = decode_state(notification.state)
    kind = public_type(topic, data)
    time = data.get("timestamp", "")
    project, repository = scope_of(data)
    subject = repository or project or data.get("username") or data.get("name")
    source = f"/tidemark/{repository or project or 'system'}"
    payload = redact({k: v for k, v in data.items() if k not in _INTERNAL})
    return {
        "specversion": SPEC_VERSION,
        "id": event_id(notification),
        "source": source,
        "type": kind,
        "time": time if time.endswith("Z") or "+" in time else time + "Z",
        "subject": subject,
        "datacontenttype": "application/json",
        "position": notification.id,
        "project": project,
        "data": payload,
    }
