"""The audit log: who did what to which resource, when, from where, in which request.

A projection of the events themselves, so it cannot be switched off or
disagree with the state; one row per operation in Harbor's shape.
"""

from datetime import datetime, timezone
from typing import Any

from domain.audit_purge import AuditPurge, AuditPurgeSchedule
from domain.configuration import SystemConfiguration
from domain.gc_schedule import GcSchedule
from domain.artifacts.manifest import Manifest
from domain.project import Project
from domain.artifacts.pulls import PullBatch
from domain.artifacts.repository_info import RepositoryInfo
from domain.retention.policy import RetentionPolicy
from domain.iam.robot import Robot, is_robot_name, robot_name_project
from domain.iam.sign_ins import SignInFailures, readable
from domain.artifacts.tag import Tag
from domain.iam.user import User
from infra.store.sql import Writer
from projections.configuration_view import audit_rows as configuration_rows
from projections.times import stamp

TABLES = ("audit_log",)

# event class -> (operation, resource_type, how to name the resource)
OPERATIONS = {
    Manifest.Pushed: ("create", "artifact", lambda e: f"{e.repository}@{e.digest}"),
    Manifest.Repushed: ("create", "artifact", lambda e: f"{e.repository}@{e.digest}"),
    Manifest.Deleted: ("delete", "artifact", lambda e: f"{e.repository}@{e.digest}"),
    Tag.Created: ("create", "tag", lambda e: f"{e.repository}:{e.tag}"),
    Tag.Moved: ("update", "tag", lambda e: f"{e.repository}:{e.tag}"),
    Tag.Removed: ("delete", "tag", lambda e: f"{e.repository}:{e.tag}"),
    Project.Created: ("create", "project", lambda e: e.name),
    Project.Recreated: ("create", "project", lambda e: e.name),
    Project.VisibilityChanged: ("update", "project", lambda e: e.name),
    Project.MetadataChanged: ("update", "project", lambda e: e.name),
    Project.CveAllowlistChanged: ("update", "project", lambda e: e.name),
    Project.Deleted: ("delete", "project", lambda e: e.name),
    Project.MemberAdded: ("create", "project_member", lambda e: f"{e.name}/{e.member}"),
    Project.MemberRoleChanged: ("update", "project_member", lambda e: f"{e.name}/{e.member}"),
    Project.MemberRemoved: ("delete", "project_member", lambda e: f"{e.name}/{e.member}"),
    User.Created: ("create", "user", lambda e: e.username),
    User.ProfileUpdated: ("update", "user", lambda e: e.username),
    User.PasswordChanged: ("update", "user", lambda e: e.username),
    User.SysadminChanged: ("update", "user", lambda e: e.username),
    User.EnabledChanged: ("update", "user", lambda e: e.username),
    User.Deleted: ("delete", "user", lambda e: e.username),
    Robot.Created: ("create", "robot", lambda e: e.name),
    Robot.Recreated: ("create", "robot", lambda e: e.name),
    Robot.Updated: ("update", "robot", lambda e: e.name),
    Robot.SecretRefreshed: ("update", "robot", lambda e: e.name),
    Robot.EnabledChanged: ("update", "robot", lambda e: e.name),
    Robot.TrustChanged: ("update", "robot", lambda e: e.name),  # keyless CI robots (ADR 0045)
    Robot.Deleted: ("delete", "robot", lambda e: e.name),
    RetentionPolicy.Created: ("create", "tag_retention", lambda e: e.project),
    RetentionPolicy.Recreated: ("create", "tag_retention", lambda e: e.project),
    RetentionPolicy.Updated: ("update", "tag_retention", lambda e: e.project),
    RetentionPolicy.Deleted: ("delete", "tag_retention", lambda e: e.project),
    RepositoryInfo.Described: ("update", "repository", lambda e: e.repository),
    RepositoryInfo.DescriptionChanged: ("update", "repository", lambda e: e.repository),
    GcSchedule.Set: ("create", "gc_schedule", lambda e: e.kind),
    GcSchedule.Changed: ("update", "gc_schedule", lambda e: e.kind),
    GcSchedule.Cleared: ("delete", "gc_schedule", lambda e: "None"),
    AuditPurge.Started: ("create", "purge_audit", lambda e: _purge_name(e)),
    AuditPurgeSchedule.Set: ("create", "purge_audit_schedule", lambda e: e.kind),
    AuditPurgeSchedule.Changed: ("update", "purge_audit_schedule", lambda e: e.kind),
    AuditPurgeSchedule.Cleared: ("delete", "purge_audit_schedule", lambda e: "None"),
}


# Harbor's extended audit log names a failed sign-in operation `login` with a false result;
# these SQL forms give every row its Harbor operation and event type (`create_artifact`).
FAILED_OPERATIONS = ("login_failed", "login_throttled")
OPERATION_SQL = (f"(CASE WHEN operation IN {FAILED_OPERATIONS!r} THEN 'login' ELSE operation END)")
EVENT_TYPE_SQL = f"({OPERATION_SQL} || '_' || resource_type)"


def event_types() -> list[str]:
    """Every event type an audit entry can have, sorted."""
    known = {f"{operation}_{resource_type}" for operation, resource_type, _ in OPERATIONS.values()}
    return sorted(known | {"pull_artifact", "login_user", "login_robot", "login_unknown_user"})


def _purge_name(e: Any) -> str:
    """Who trims what: a purge run in the audit log it trims."""
    kinds = ",".join(e.event_types) or "no event types"
    return f"{kinds} older than {e.retention_hours} hours{' (dry run)' if e.dry_run else ''}"


def _project(resource_type: str, resource: str) -> str | None:
    if resource_type in ("artifact", "tag", "project", "project_member", "tag_retention", "repository"):
        return resource.split("/", 1)[0].split("@", 1)[0].split(":", 1)[0]
    if resource_type == "robot":
        return robot_name_project(resource)
    return None


class AuditView:
    name = "audit"
    tables = TABLES

    def __init__(self, prefix: str = "audit_") -> None:
        self.p = prefix

    def create(self, w: Writer) -> None:
        w.execute(f"""CREATE TABLE IF NOT EXISTS {self.p}audit_log (
            id BIGINT NOT NULL, seq INTEGER NOT NULL, username TEXT NOT NULL, resource TEXT NOT NULL,
            resource_type TEXT NOT NULL, operation TEXT NOT NULL, op_time TEXT NOT NULL,
            project TEXT, client_ip TEXT NOT NULL, request_id TEXT NOT NULL, PRIMARY KEY (id, seq))""")
        w.execute(f"CREATE INDEX IF NOT EXISTS {self.p}audit_project ON {self.p}audit_log (project, id)")

    def drop(self, w: Writer) -> None:
        w.execute(f"DROP TABLE IF EXISTS {self.p}audit_log")

    def drop_indexes(self, w: Writer) -> None:
        w.execute(f"DROP INDEX IF EXISTS {self.p}audit_project")

    def apply(self, w: Writer, event: Any, position: int) -> set:
        if isinstance(event, AuditPurge.Finished):
            purge(w, self.p, event)
            return set()
        rows = audit_rows(event, position)
        if rows:
            w.executemany(f"INSERT INTO {self.p}audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                          "ON CONFLICT DO NOTHING", rows)
        return set()


def audit_rows(event: Any, position: int) -> list[tuple]:
    """The audit entries an event makes: (id, seq, username, resource, resource_type,
    operation, op_time, project, client_ip, request_id); none for most events."""
    if isinstance(event, SignInFailures.Recorded):
        return sign_in_rows(event, position)
    if isinstance(event, (SystemConfiguration.Configured, SystemConfiguration.Changed)):
        return configuration_rows(event, position)
    if isinstance(event, PullBatch.Recorded):
        return [(position, seq, p["actor"], f"{p['repository']}@{p['digest']}", "artifact", "pull",
                 stamp(datetime.fromtimestamp(p["at"], timezone.utc)),
                 p["repository"].split("/", 1)[0], p["client_ip"], p["request_id"])
                for seq, p in enumerate(event.pulls)]
    known = OPERATIONS.get(type(event))
    if known is None:
        return []
    operation, resource_type, name = known
    resource = name(event)
    return [(position, 0, event.actor, resource, resource_type, operation, stamp(event.timestamp),
             _project(resource_type, resource), event.client_ip, event.request_id)]


def purge_filter(event_types: list[str]) -> tuple[str, list]:
    """SQL matching entries of the given event types (`create_artifact`) or bare operations
    (`create`, Harbor's older form); an empty list matches nothing (as in Harbor)."""
    if not event_types:
        return "1 = 0", []
    marks = ", ".join("?" for _ in event_types)
    return f"({EVENT_TYPE_SQL} IN ({marks}) OR {OPERATION_SQL} IN ({marks}))", [*event_types, *event_types]


def purge(w: Writer, prefix: str, event: Any) -> None:
    """Apply a finished purge: trim the entries it names (a dry run trims nothing). Only rows
    before the purge's `until` position, so a rebuild trims exactly what the live view did."""
    if event.dry_run:
        return
    matching, params = purge_filter(event.event_types)
    w.execute(f"DELETE FROM {prefix}audit_log WHERE id < ? AND op_time < ? AND {matching}",
              [event.until, event.cutoff, *params])


def sign_in_rows(event: Any, position: int) -> list[tuple]:
    """Failed sign-ins as audit rows. The caller is `anonymous` (it proved nothing); the
    resource is the name tried, escaped: resource_type `user` or `robot` for an account,
    `unknown_user` for a name that is none. A source's refused attempts are one row with
    their count, and so are failures a flood left unitemized."""
    rows = []
    for seq, f in enumerate(event.failures):
        kind = ("robot" if is_robot_name(f["name"]) else "user") if f["known"] else "unknown_user"
        rows.append((position, seq, "anonymous", readable(f["name"]), kind, "login_failed",
                     stamp(datetime.fromtimestamp(f["at"], timezone.utc)), None, f["client_ip"],
                     f["request_id"]))
    for seq, r in enumerate(event.refused, start=len(event.failures)):
        names = ", ".join(readable(n) for n in r["names"])
        rows.append((position, seq, "anonymous", f"{names}: {r['count']} attempts refused while waiting",
                     "user", "login_throttled", stamp(datetime.fromtimestamp(r["last_at"], timezone.utc)),
                     None, r["client_ip"], r["request_id"]))
    if event.dropped:
        rows.append((position, len(rows), "anonymous",
                     f"{event.dropped} failed sign-ins not itemized (too many at once)", "user",
                     "login_failed", stamp(event.timestamp), None, "", event.request_id))
    return rows
