"""Every HTTP route and what a caller needs to use it: the one table the permission guard
(infra/http/rest_guard.py) enforces and tests/integration/test_route_permissions.py walks.

A route that is not in this table does not start (infra/wiring/app.py refuses to build the app).

Scopes:
- PUBLIC: anyone, anonymous included (the handler may still show less to some callers).
- LOGIN: any signed-in user or robot.
- USER: a signed-in user (robots have no profile).
- SYSADMIN: a system administrator: a user with the flag. Never implied by a robot permission.
- SYSTEM: a system administrator, or a robot granted (resource, action) at system level;
  `any_user` also admits every signed-in user (Harbor lets any user create a project).
- PROJECT: (resource, action) in the project the request names; `via` says where the
  project comes from (see infra/http/rest_guard.py). A project that does not exist is a 404;
  one the caller may not see is 401 (anonymous) or 403 (signed in), as in Harbor.
- SELF: the user named by `{user_id}` in the path, or a system administrator.
- ROBOT: a system robot needs a system administrator; a project robot the project's
  (robot, action) permission.
- LABEL: a global label needs (label, action) at system level (reads: any signed-in caller);
  a project label needs (label, action) in its project.
- OCI: the /v2 routes, authorized per request by the token rules (infra/auth/token_authz.py).
"""

from typing import NamedTuple

PUBLIC, LOGIN, USER, SYSADMIN, SYSTEM, PROJECT, SELF, ROBOT, LABEL, OCI = (
    "public", "login", "user", "sysadmin", "system", "project", "self", "robot", "label", "oci")

# Where a PROJECT need finds its project:
PATH = "path"            # {project_name_or_id}: a name or an id; X-Is-Resource-Name says which
PATH_NAME = "path_name"  # {project_name}: always a name (Harbor's repository and artifact routes)
RETENTION = "retention"  # {policy_id}: the stored project id of the retention policy
BODY = "body"            # the request body names it: the handler checks once it has parsed it
QUERY_ID = "query_id"    # ?project_id=N (an id)
SIGN_UP = "sign_up"      # SYSADMIN, or anonymous while `self_registration` is on (POST /users)


class Need(NamedTuple):
    scope: str
    resource: str = ""
    action: str = ""
    via: str = ""
    any_user: bool = False


def project(resource: str, action: str, via: str = PATH) -> Need:
    return Need(PROJECT, resource, action, via)


def system(resource: str, action: str, any_user: bool = False) -> Need:
    return Need(SYSTEM, resource, action, any_user=any_user)


API = "/api/v2.0"
P = API + "/projects/{project_name_or_id}"
R = API + "/projects/{project_name}/repositories/{repository_name}"
A = R + "/artifacts/{reference}"
W = P + "/webhook"
RET = API + "/retentions/{policy_id}"


def _on_repositories(resource: str, action: str) -> Need:
    return project(resource, action, PATH_NAME)


TABLE: dict[tuple[str, str], Need] = {
    # Service routes
    ("GET", API + "/ping"): Need(PUBLIC),
    ("GET", API + "/health"): Need(PUBLIC),
    ("GET", "/metrics"): Need(PUBLIC),
    ("GET", "/service/token"): Need(PUBLIC),  # it checks the credentials it is given itself
    ("POST", "/c/login"): Need(PUBLIC),  # the portal's sign-in: it checks the password itself
    ("POST", "/c/log_out"): Need(PUBLIC),  # ends the cookie's session, if any
    ("GET", "/c/oidc/login"): Need(PUBLIC),  # OIDC sign-in (ADR 0043): the provider checks who
    ("GET", "/c/oidc/callback"): Need(PUBLIC),  # the state cookie and the ID token tell
    ("POST", "/c/oidc/onboard"): Need(PUBLIC),  # the onboarding cookie of a verified sign-in
    ("POST", API + "/system/oidc/ping"): Need(SYSADMIN),
    ("GET", "/"): Need(PUBLIC),  # the portal's page and files (read_api/portal): no data in them
    ("GET", "/portal/{name}"): Need(PUBLIC),
    ("GET", "/portal/vendor/{name}"): Need(PUBLIC),
    ("GET", API + "/systeminfo"): Need(PUBLIC),
    ("GET", API + "/systeminfo/volumes"): system("system-volumes", "read"),
    ("GET", API + "/icons/{digest}"): Need(PUBLIC),  # artifact type icons, as Harbor serves them
    ("GET", API + "/search"): Need(PUBLIC),  # only what the caller may read
    ("GET", API + "/statistics"): Need(LOGIN),  # counts of what the caller may read
    ("GET", API + "/permissions"): Need(LOGIN),
    # Users
    ("GET", API + "/users"): system("user", "list"),
    ("POST", API + "/users"): Need(SYSADMIN, via=SIGN_UP),
    ("GET", API + "/users/search"): Need(LOGIN),
    ("GET", API + "/users/current"): Need(USER),
    ("GET", API + "/users/current/permissions"): Need(LOGIN),
    ("GET", API + "/users/{user_id}"): Need(SELF, "user", "read"),
    ("PUT", API + "/users/{user_id}"): Need(SELF),
    ("PUT", API + "/users/{user_id}/password"): Need(SELF),
    ("PUT", API + "/users/{user_id}/cli_secret"): Need(SELF),
    ("PUT", API + "/users/{user_id}/sysadmin"): Need(SYSADMIN),
    ("PUT", API + "/users/{user_id}/enabled"): Need(SYSADMIN),
    ("DELETE", API + "/users/{user_id}"): Need(SYSADMIN),
    # User groups (ADR 0041): system administrators; the member dialog's search for everyone
    ("GET", API + "/usergroups"): Need(SYSADMIN),
    ("POST", API + "/usergroups"): Need(SYSADMIN),
    ("GET", API + "/usergroups/search"): Need(LOGIN),
    ("GET", API + "/usergroups/{group_id}"): Need(SYSADMIN),
    ("PUT", API + "/usergroups/{group_id}"): Need(SYSADMIN),
    ("DELETE", API + "/usergroups/{group_id}"): Need(SYSADMIN),
    # Projects and members
    ("GET", API + "/projects"): Need(PUBLIC),  # public ones and the caller's own
    ("HEAD", API + "/projects"): Need(LOGIN),  # name taken? (a create would say so too)
    ("POST", API + "/projects"): system("project", "create", any_user=True),
    ("GET", P): project("project", "read"),
    ("PUT", P): project("project", "update"),
    ("DELETE", P): project("project", "delete"),
    ("GET", P + "/summary"): project("project", "read"),
    ("GET", P + "/_deletable"): project("project", "delete"),
    ("GET", P + "/members"): project("member", "list"),
    ("POST", P + "/members"): project("member", "create"),
    ("GET", P + "/members/{mid}"): project("member", "read"),
    ("PUT", P + "/members/{mid}"): project("member", "update"),
    ("DELETE", P + "/members/{mid}"): project("member", "delete"),
    ("GET", P + "/metadatas"): project("metadata", "read"),
    ("POST", P + "/metadatas"): project("metadata", "create"),
    ("GET", P + "/metadatas/{meta_name}"): project("metadata", "read"),
    ("PUT", P + "/metadatas/{meta_name}"): project("metadata", "update"),
    ("DELETE", P + "/metadatas/{meta_name}"): project("metadata", "delete"),
    # Content trust (ADR 0035): members read the keys, project administrators change them
    ("GET", P + "/trusted-keys"): project("metadata", "list"),
    ("POST", P + "/trusted-keys"): project("metadata", "create"),
    ("GET", P + "/trusted-keys/{fingerprint}"): project("metadata", "read"),
    ("DELETE", P + "/trusted-keys/{fingerprint}"): project("metadata", "delete"),
    ("GET", A + "/pull-decision"): _on_repositories("artifact", "read"),
    ("GET", API + "/projects/{project_name}/logs"): project("log", "list", PATH_NAME),
    ("GET", API + "/projects/{project_name}/changes"): project("log", "list", PATH_NAME),
    # Repositories, artifacts, tags, labels on artifacts
    ("GET", API + "/repositories"): Need(PUBLIC),  # only those the caller may list
    ("GET", API + "/projects/{project_name}/repositories"): _on_repositories("repository", "list"),
    ("GET", R): _on_repositories("repository", "read"),
    ("PUT", R): _on_repositories("repository", "update"),
    ("DELETE", R): _on_repositories("repository", "delete"),
    ("GET", R + "/artifacts"): _on_repositories("artifact", "list"),
    ("GET", P + "/artifacts"): project("artifact", "list"),  # every repository of the project
    # the handler also checks pull on the source repository
    ("POST", R + "/artifacts"): _on_repositories("artifact", "create"),
    ("GET", A): _on_repositories("artifact", "read"),
    ("DELETE", A): _on_repositories("artifact", "delete"),
    ("GET", A + "/tags"): _on_repositories("tag", "list"),
    ("POST", A + "/tags"): _on_repositories("tag", "create"),
    ("DELETE", A + "/tags/{tag_name}"): _on_repositories("tag", "delete"),
    ("GET", A + "/accessories"): _on_repositories("accessory", "list"),
    ("GET", A + "/additions/{addition}"): _on_repositories("artifact", "read"),
    ("GET", A + "/manifest"): _on_repositories("artifact", "read"),  # Tidemark: the stored bytes
    ("GET", A + "/additions/vulnerabilities"): _on_repositories("artifact", "read"),
    ("GET", A + "/vulnerabilities/history"): _on_repositories("artifact", "read"),
    ("POST", A + "/labels"): _on_repositories("artifact-label", "create"),
    ("DELETE", A + "/labels/{label_id}"): _on_repositories("artifact-label", "delete"),
    ("POST", R + "/artifacts/{digest}/undelete"): _on_repositories("artifact", "create"),
    ("GET", R + "/tags/{tag}/history"): _on_repositories("tag", "list"),
    ("POST", R + "/tags/{tag}/restore"): _on_repositories("tag", "create"),
    # Labels
    ("GET", API + "/labels"): Need(LABEL, "label", "list"),
    ("POST", API + "/labels"): Need(LABEL, "label", "create", BODY),
    ("GET", API + "/labels/{label_id}"): Need(LABEL, "label", "read"),
    ("PUT", API + "/labels/{label_id}"): Need(LABEL, "label", "update"),
    ("DELETE", API + "/labels/{label_id}"): Need(LABEL, "label", "delete"),
    # Robots
    ("GET", API + "/robots"): Need(ROBOT, "robot", "list"),
    ("POST", API + "/robots"): Need(ROBOT, "robot", "create", BODY),
    ("GET", API + "/robots/{robot_id}"): Need(ROBOT, "robot", "read"),
    ("PUT", API + "/robots/{robot_id}"): Need(ROBOT, "robot", "update"),
    ("PATCH", API + "/robots/{robot_id}"): Need(ROBOT, "robot", "update"),
    ("DELETE", API + "/robots/{robot_id}"): Need(ROBOT, "robot", "delete"),
    # Keyless CI robots (ADR 0045, a Tidemark extension): trust is part of the robot
    ("GET", API + "/robots/{robot_id}/trust"): Need(ROBOT, "robot", "read"),
    ("PUT", API + "/robots/{robot_id}/trust"): Need(ROBOT, "robot", "update"),
    # Quotas (Harbor's system quota rights; no robot may hold them)
    ("GET", API + "/quotas"): system("quota", "list"),
    ("GET", API + "/quotas/{id}"): system("quota", "read"),
    ("PUT", API + "/quotas/{id}"): system("quota", "update"),
    # Immutable tag rules
    ("GET", P + "/immutabletagrules"): project("immutable-tag", "list"),
    ("POST", P + "/immutabletagrules"): project("immutable-tag", "create"),
    ("PUT", P + "/immutabletagrules/{immutable_rule_id}"): project("immutable-tag", "update"),
    ("DELETE", P + "/immutabletagrules/{immutable_rule_id}"): project("immutable-tag", "delete"),
    # Tag retention
    ("GET", API + "/retentions/metadatas"): Need(LOGIN),
    ("POST", API + "/retentions"): project("tag-retention", "create", BODY),
    ("GET", RET): project("tag-retention", "read", RETENTION),
    ("PUT", RET): project("tag-retention", "update", RETENTION),
    ("DELETE", RET): project("tag-retention", "delete", RETENTION),
    ("GET", RET + "/executions"): project("tag-retention", "list", RETENTION),
    ("POST", RET + "/executions"): project("tag-retention", "operate", RETENTION),
    ("PATCH", RET + "/executions/{execution_id}"): project("tag-retention", "operate", RETENTION),
    ("GET", RET + "/executions/{execution_id}/tasks"): project("tag-retention", "list", RETENTION),
    ("GET", RET + "/executions/{execution_id}/tasks/{task_id}"):
        project("tag-retention", "read", RETENTION),
    # Webhooks
    ("GET", W + "/policies"): project("webhook", "list"),
    ("POST", W + "/policies"): project("webhook", "create"),
    ("GET", W + "/policies/{webhook_policy_id}"): project("webhook", "read"),
    ("PUT", W + "/policies/{webhook_policy_id}"): project("webhook", "update"),
    ("DELETE", W + "/policies/{webhook_policy_id}"): project("webhook", "delete"),
    ("POST", W + "/policies/{webhook_policy_id}/replay"): project("webhook", "update"),
    ("GET", W + "/policies/{webhook_policy_id}/executions"): project("webhook", "list"),
    ("GET", W + "/policies/{webhook_policy_id}/executions/{execution_id}/tasks"):
        project("webhook", "list"),
    ("GET", W + "/policies/{webhook_policy_id}/executions/{execution_id}/tasks/{task_id}/log"):
        project("webhook", "read"),
    ("GET", W + "/events"): project("webhook", "read"),
    ("GET", W + "/lasttrigger"): project("webhook", "read"),
    ("GET", W + "/jobs"): project("webhook", "list"),
    ("GET", W + "/jobs/{job_id}"): project("webhook", "read"),
    ("POST", W + "/jobs/{job_id}/retry"): project("webhook", "update"),
    # Garbage collection
    ("GET", API + "/system/gc"): system("garbage-collection", "read"),
    ("GET", API + "/system/gc/schedule"): system("garbage-collection", "read"),
    ("POST", API + "/system/gc/schedule"): system("garbage-collection", "create"),
    ("PUT", API + "/system/gc/schedule"): system("garbage-collection", "update"),
    ("GET", API + "/system/gc/{gc_id}"): system("garbage-collection", "read"),
    ("GET", API + "/system/gc/{gc_id}/log"): system("garbage-collection", "read"),
    ("PUT", API + "/system/gc/{gc_id}"): system("garbage-collection", "stop"),
    # Harbor's job-service monitor, answered from Tidemark's followers and schedulers
    ("GET", API + "/jobservice/pools"): Need(SYSADMIN),
    ("GET", API + "/jobservice/pools/{pool_id}/workers"): Need(SYSADMIN),
    ("GET", API + "/jobservice/queues"): Need(SYSADMIN),
    ("PUT", API + "/jobservice/queues/{job_type}"): Need(SYSADMIN),
    ("GET", API + "/jobservice/jobs/{job_id}/log"): Need(SYSADMIN),
    ("GET", API + "/schedules"): Need(SYSADMIN),
    ("GET", API + "/schedules/{job_type}/paused"): Need(SYSADMIN),
    # System configuration (system administrators only: it holds the sign-in settings)
    ("GET", API + "/configurations"): Need(SYSADMIN),
    ("PUT", API + "/configurations"): Need(SYSADMIN),
    ("POST", API + "/ldap/ping"): Need(SYSADMIN),
    ("GET", API + "/ldap/users/search"): Need(SYSADMIN),
    ("POST", API + "/ldap/users/import"): Need(SYSADMIN),
    ("GET", API + "/ldap/groups/search"): Need(SYSADMIN),
    ("GET", API + "/system/CVEAllowlist"): Need(LOGIN),
    ("PUT", API + "/system/CVEAllowlist"): Need(SYSADMIN),
    # Vulnerabilities (Security Hub: Harbor's system security-hub right; a CVE's artifacts:
    # only those of projects the caller may read)
    ("GET", API + "/security/summary"): system("security-hub", "read"),
    ("GET", API + "/security/vul"): system("security-hub", "read"),
    ("GET", API + "/security/vul/{cve_id}/artifacts"): Need(LOGIN),
    # CVE export: the body's projects need export-cve create (checked by the handler);
    # executions are the calling user's own (another user's id is a 404)
    ("POST", API + "/export/cve"): project("export-cve", "create", BODY),
    ("GET", API + "/export/cve/executions"): Need(USER),
    ("GET", API + "/export/cve/execution/{execution_id}"): Need(USER),
    ("DELETE", API + "/export/cve/execution/{execution_id}"): Need(USER),
    ("GET", API + "/export/cve/download/{execution_id}"): Need(USER),
    # Audit log and the event feed (entries only of projects the caller may read)
    ("GET", API + "/audit-logs"): system("audit-log", "list"),
    ("GET", API + "/auditlog-exts"): system("audit-log", "list"),
    ("GET", API + "/auditlog-exts/events"): system("audit-log", "list"),
    ("GET", API + "/projects/{project_name}/auditlog-exts"): project("log", "list", PATH_NAME),
    # Audit log rotation (trims the audit query model, never the event log)
    ("GET", API + "/system/purgeaudit"): system("purge-audit", "read"),
    ("GET", API + "/system/purgeaudit/schedule"): system("purge-audit", "read"),
    ("POST", API + "/system/purgeaudit/schedule"): system("purge-audit", "create"),
    ("PUT", API + "/system/purgeaudit/schedule"): system("purge-audit", "update"),
    ("GET", API + "/system/purgeaudit/{purge_id}"): system("purge-audit", "read"),
    ("GET", API + "/system/purgeaudit/{purge_id}/log"): system("purge-audit", "read"),
    ("PUT", API + "/system/purgeaudit/{purge_id}"): system("purge-audit", "stop"),
    ("GET", API + "/events"): Need(LOGIN),
    ("GET", API + "/events/stream"): Need(LOGIN),
    # Scanner registrations (system administrators), a project's scanner, scans of artifacts
    ("GET", API + "/scanners"): Need(SYSADMIN),
    ("POST", API + "/scanners"): Need(SYSADMIN),
    ("POST", API + "/scanners/ping"): Need(SYSADMIN),
    ("GET", API + "/scanners/{registration_id}"): Need(SYSADMIN),
    ("PUT", API + "/scanners/{registration_id}"): Need(SYSADMIN),
    ("DELETE", API + "/scanners/{registration_id}"): Need(SYSADMIN),
    ("PATCH", API + "/scanners/{registration_id}"): Need(SYSADMIN),
    ("GET", API + "/scanners/{registration_id}/metadata"): Need(SYSADMIN),
    ("GET", P + "/scanner"): project("scanner", "read"),
    ("PUT", P + "/scanner"): project("scanner", "create"),
    ("GET", P + "/scanner/candidates"): project("scanner", "create"),
    ("POST", A + "/scan"): _on_repositories("scan", "create"),
    ("POST", A + "/scan/stop"): _on_repositories("scan", "stop"),
    ("GET", A + "/scan/{report_id}/log"): _on_repositories("scan", "read"),
    # Scan-all (Harbor's system scan-all rights)
    ("GET", API + "/system/scanAll/schedule"): system("scan-all", "read"),
    ("POST", API + "/system/scanAll/schedule"): system("scan-all", "create"),
    ("PUT", API + "/system/scanAll/schedule"): system("scan-all", "update"),
    ("POST", API + "/system/scanAll/stop"): system("scan-all", "stop"),
    ("GET", API + "/scans/all/metrics"): system("scan-all", "read"),
    ("GET", API + "/scans/schedule/metrics"): system("scan-all", "read"),
    # Registry endpoints and replication (Harbor's system registry and replication rights)
    ("GET", API + "/registries"): system("registry", "list"),
    ("POST", API + "/registries"): system("registry", "create"),
    ("POST", API + "/registries/ping"): system("registry", "create"),
    ("GET", API + "/registries/{id}"): system("registry", "read"),
    ("PUT", API + "/registries/{id}"): system("registry", "update"),
    ("DELETE", API + "/registries/{id}"): system("registry", "delete"),
    ("GET", API + "/registries/{id}/info"): system("registry", "read"),
    ("GET", API + "/replication/adapters"): system("replication-adapter", "list"),
    ("GET", API + "/replication/adapterinfos"): system("replication-adapter", "list"),
    ("GET", API + "/replication/policies"): system("replication-policy", "list"),
    ("POST", API + "/replication/policies"): system("replication-policy", "create"),
    ("GET", API + "/replication/policies/{id}"): system("replication-policy", "read"),
    ("PUT", API + "/replication/policies/{id}"): system("replication-policy", "update"),
    ("DELETE", API + "/replication/policies/{id}"): system("replication-policy", "delete"),
    ("GET", API + "/replication/executions"): system("replication", "list"),
    ("POST", API + "/replication/executions"): system("replication", "create"),
    ("GET", API + "/replication/executions/{id}"): system("replication", "read"),
    ("PUT", API + "/replication/executions/{id}"): system("replication", "create"),
    ("GET", API + "/replication/executions/{id}/tasks"): system("replication", "list"),
    ("GET", API + "/replication/executions/{id}/tasks/{task_id}/log"): system("replication", "read"),
    # Metadata replication between Tidemarks (a batch creates robots and members: no robot right reaches it)
    ("POST", API + "/replication/metadata/batches"): Need(SYSADMIN),
    ("GET", API + "/replication/metadata/sources"): Need(SYSADMIN),
    # The OCI distribution API, authorized per request by its own token rules
    ("*", "/v2"): Need(OCI),
}

# The OpenAPI document (Litestar's router): readable by anyone.
OPENAPI_PATHS = ("", "/openapi.json", "/{path}")  # the schema (at "" too); any other path a 404
TABLE.update({("GET", API + path): Need(PUBLIC) for path in OPENAPI_PATHS})


def need_for(method: str, path: str) -> Need | None:
    """The need of a route, by method and path template (parameter types left out)."""
    return TABLE.get((method, path))
