"""The route permission matrix: every route of infra/http/route_permissions.py, called by every kind
of caller, is allowed or refused as the table and Harbor's role matrix say.

A refusal is Harbor's: 401 for an anonymous caller, 403 for a signed-in one (also for a private
project the caller is not a member of); anything else means the request got past the permission
check. Each sample request names objects that exist, so an allowed call never answers 404, and a
refused one never does either.
"""

import itertools
from typing import Any, Callable, NamedTuple

import pytest

from domain.iam.roles import role_allows
from infra.http import route_permissions as rp
from infra.http.rest_guard import route_key
from read_api.rest_icons import ICONS
from tests.integration.route_world import API, CI_ACCESS, MEMBERS, PURGE_NOTHING, UNRELATED, World, password


class Spec(NamedTuple):
    kind: str
    role: int | None = None
    sysadmin: bool = False
    system: frozenset = frozenset()
    project: frozenset = frozenset()  # a project robot's permissions in p1


ROLE = {"gary": "guest", "dave": "developer", "mia": "maintainer", "pam": "projectadmin"}
CALLERS = {
    "anonymous": Spec("anonymous"),
    "nonmember": Spec("user"),
    **{ROLE[name]: Spec("user", role=role) for name, role in MEMBERS.items()},
    "systemrobot": Spec("robot", system=frozenset([UNRELATED])),
    "projectrobot": Spec("robot", project=frozenset(CI_ACCESS)),
    "sysadmin": Spec("user", sysadmin=True),
}


class Call(NamedTuple):
    path: dict = {}
    query: dict = {}
    body: Any = None
    headers: dict = {}
    project: str = "p1"  # the project the call acts in (for the expectation)


def expected(need: rp.Need, spec: Spec, call: Call) -> bool:
    """Whether the caller may use the route, from the need and Harbor's role matrix."""
    if need.scope == rp.PUBLIC:
        return True
    if spec.kind == "anonymous":
        return False
    if need.scope == rp.LOGIN:
        return True
    if need.scope == rp.USER:
        return spec.kind == "user"
    if spec.sysadmin:
        return True
    if need.scope == rp.SYSADMIN:
        return False
    if need.scope == rp.SYSTEM:
        return (need.any_user and spec.kind == "user") or (need.resource, need.action) in spec.system
    if need.scope == rp.SELF:  # the samples name the developer
        return spec.role == MEMBERS["dave"] or (need.resource, need.action) in spec.system
    resource = {rp.ROBOT: "robot", rp.LABEL: "label"}.get(need.scope, need.resource)
    if spec.kind == "robot":
        return call.project == "p1" and (resource, need.action) in spec.project
    return role_allows(spec.role, resource, need.action)


def _sample(**fixed) -> Callable[[World], Call]:
    return lambda w: Call(**fixed)


P1 = {"project_name_or_id": "p1"}
SCAN_DATA = "application/vnd.security.vulnerability.report; version=1.1"
REPO = {"project_name": "p1", "repository_name": "app"}
V1 = {**REPO, "reference": "v1"}
WEBHOOK = lambda w: {**P1, "webhook_policy_id": w.webhook_id}  # noqa: E731
RETENTION = lambda w: {"policy_id": w.retention_id}  # noqa: E731

_KEY_NAMES = itertools.count(1)


def _key_body() -> dict:
    from tests.integration.signing import ecdsa_key, public_pem

    return {"name": f"k{next(_KEY_NAMES)}", "public_key": public_pem(ecdsa_key())}


SAMPLES: dict[tuple[str, str], Callable[[World], Call]] = {
    ("GET", API + "/ping"): _sample(),
    ("GET", API + "/health"): _sample(),
    ("GET", "/metrics"): _sample(),
    ("GET", "/service/token"): _sample(query={"service": "tidemark"}),
    ("POST", "/c/login"): lambda w: Call(body={"principal": "dave", "password": password("dave")}),
    ("POST", "/c/log_out"): _sample(),
    ("GET", "/c/oidc/login"): _sample(),  # 412: the world's auth mode is db_auth
    ("GET", "/c/oidc/callback"): _sample(query={"code": "c", "state": "s"}),  # 400: no sign-in begun
    ("POST", "/c/oidc/onboard"): _sample(body={"username": "newcomer"}),  # 400: no onboarding cookie
    ("POST", API + "/system/oidc/ping"): _sample(body={"url": "http://127.0.0.1:9"}),  # admin: 400
    ("GET", "/"): _sample(),
    ("GET", "/portal/{name}"): _sample(path={"name": "app.js"}),
    ("GET", "/portal/vendor/{name}"): _sample(path={"name": "preact.js"}),
    ("GET", API + "/systeminfo"): _sample(),
    ("GET", API + "/systeminfo/volumes"): _sample(),
    ("GET", API + "/icons/{digest}"): _sample(path={"digest": ICONS["image"]}),
    ("GET", API + "/search"): _sample(query={"q": "app"}),
    ("GET", API + "/statistics"): _sample(),
    ("GET", API + "/permissions"): _sample(),
    ("GET", API + "/openapi.json"): _sample(),
    ("GET", API + "/users"): _sample(),
    ("POST", API + "/users"): lambda w: Call(body={"username": f"new{w.n()}", "password": password("new"),
                                                   "email": f"new{w.n()}@example.com"}),
    ("GET", API + "/users/search"): _sample(query={"username": "da"}),
    ("GET", API + "/users/current"): _sample(),
    ("GET", API + "/users/current/permissions"): _sample(),
    ("GET", API + "/users/{user_id}"): lambda w: Call(path={"user_id": w.user_ids["dave"]}),
    ("PUT", API + "/users/{user_id}"): lambda w: Call(path={"user_id": w.user_ids["dave"]},
                                                      body={"email": "dave@example.com"}),
    # the developer's own call is a 400 (the new password must differ); an administrator's
    # reset keeps the same password, so the developer can still sign in afterwards
    ("PUT", API + "/users/{user_id}/password"): lambda w: Call(
        path={"user_id": w.user_ids["dave"]},
        body={"old_password": password("dave"), "new_password": password("dave")}),
    # allowed callers get 412: a database user has no CLI secret (only OIDC users do)
    ("PUT", API + "/users/{user_id}/cli_secret"): lambda w: Call(path={"user_id": w.user_ids["dave"]},
                                                                 body={"secret": "Cli-Secret-9x"}),
    ("PUT", API + "/users/{user_id}/sysadmin"): lambda w: Call(path={"user_id": w.fresh_user()[1]},
                                                               body={"sysadmin_flag": False}),
    ("PUT", API + "/users/{user_id}/enabled"): lambda w: Call(path={"user_id": w.fresh_user()[1]},
                                                              body={"enabled": True}),
    ("DELETE", API + "/users/{user_id}"): lambda w: Call(path={"user_id": w.fresh_user()[1]}),
    ("GET", API + "/usergroups"): _sample(),
    ("POST", API + "/usergroups"): lambda w: Call(body={"group_name": f"group{w.n()}", "group_type": 2}),
    ("GET", API + "/usergroups/search"): _sample(query={"groupname": "group"}),
    ("GET", API + "/usergroups/{group_id}"): lambda w: Call(path={"group_id": w.group_id}),
    ("PUT", API + "/usergroups/{group_id}"): lambda w: Call(path={"group_id": w.fresh_group()},
                                                            body={"group_name": f"renamed{w.n()}"}),
    ("DELETE", API + "/usergroups/{group_id}"): lambda w: Call(path={"group_id": w.fresh_group()}),
    ("GET", API + "/projects"): _sample(),
    ("HEAD", API + "/projects"): _sample(query={"project_name": "p1"}),
    ("POST", API + "/projects"): lambda w: Call(body={"project_name": f"new{w.n()}"}, project=""),
    ("GET", rp.P): _sample(path=P1),
    ("PUT", rp.P): _sample(path=P1, body={"metadata": {"public": "false"}}),
    ("DELETE", rp.P): lambda w: (lambda name: Call(path={"project_name_or_id": name}, project=name))(
        w.fresh_project()),
    ("GET", rp.P + "/summary"): _sample(path=P1),
    ("GET", rp.P + "/_deletable"): _sample(path=P1),
    ("GET", rp.P + "/members"): _sample(path=P1),
    ("POST", rp.P + "/members"): lambda w: Call(path=P1, body={"role_id": 3, "member_user": {
        "username": w.fresh_user()[0]}}),
    ("GET", rp.P + "/members/{mid}"): lambda w: Call(path={**P1, "mid": w.member_id}),
    ("PUT", rp.P + "/members/{mid}"): lambda w: Call(path={**P1, "mid": w.fresh_member()}, body={"role_id": 2}),
    ("DELETE", rp.P + "/members/{mid}"): lambda w: Call(path={**P1, "mid": w.fresh_member()}),
    ("GET", rp.P + "/metadatas"): _sample(path=P1),
    ("POST", rp.P + "/metadatas"): lambda w: Call(path=P1, body={"auto_scan": "true"}),  # set: allowed is 409
    ("GET", rp.P + "/metadatas/{meta_name}"): _sample(path={**P1, "meta_name": "auto_scan"}),
    ("PUT", rp.P + "/metadatas/{meta_name}"): _sample(path={**P1, "meta_name": "auto_scan"},
                                                      body={"auto_scan": "true"}),
    ("DELETE", rp.P + "/metadatas/{meta_name}"): lambda w: Call(path={**P1, "meta_name": w.fresh_metadata()}),
    ("GET", rp.P + "/trusted-keys"): _sample(path=P1),
    ("POST", rp.P + "/trusted-keys"): lambda w: Call(path=P1, body=_key_body()),
    ("GET", rp.P + "/trusted-keys/{fingerprint}"): lambda w: Call(path={**P1, "fingerprint": w.fresh_trusted_key()}),
    ("DELETE", rp.P + "/trusted-keys/{fingerprint}"):
        lambda w: Call(path={**P1, "fingerprint": w.fresh_trusted_key()}),
    ("GET", rp.A + "/pull-decision"): _sample(path=V1),
    ("GET", API + "/projects/{project_name}/logs"): _sample(path={"project_name": "p1"}),
    ("GET", API + "/projects/{project_name}/changes"): _sample(path={"project_name": "p1"}),
    ("GET", API + "/repositories"): _sample(),
    ("GET", API + "/projects/{project_name}/repositories"): _sample(path={"project_name": "p1"}),
    ("GET", rp.R): _sample(path=REPO),
    ("PUT", rp.R): _sample(path=REPO, body={"description": "the app"}),
    ("DELETE", rp.R): lambda w: Call(path={"project_name": "p1", "repository_name": w.fresh_repository()}),
    ("GET", rp.R + "/artifacts"): _sample(path=REPO),
    ("GET", rp.P + "/artifacts"): _sample(path=P1),
    ("POST", rp.R + "/artifacts"): lambda w: Call(path={"project_name": "p1", "repository_name": f"copy{w.n()}"},
                                                  query={"from": "p1/app:v1"}),
    ("GET", rp.A): _sample(path=V1),
    ("DELETE", rp.A): lambda w: Call(path={**REPO, "reference": w.fresh_image()}),
    ("GET", rp.A + "/tags"): _sample(path=V1),
    ("POST", rp.A + "/tags"): lambda w: Call(path=V1, body={"name": f"new{w.n()}"}),
    ("DELETE", rp.A + "/tags/{tag_name}"): lambda w: Call(path={**V1, "tag_name": w.fresh_tag()}),
    ("GET", rp.A + "/accessories"): _sample(path=V1),
    ("GET", rp.A + "/additions/{addition}"): _sample(path={**V1, "addition": "build_history"}),
    ("GET", rp.A + "/manifest"): _sample(path=V1),
    ("GET", rp.A + "/additions/vulnerabilities"): _sample(path=V1),
    ("GET", rp.A + "/vulnerabilities/history"): _sample(path=V1),
    ("POST", rp.A + "/labels"): lambda w: Call(path=V1, body={"id": w.label_id}),
    ("DELETE", rp.A + "/labels/{label_id}"): lambda w: Call(path={**V1, "label_id": w.fresh_artifact_label()}),
    ("POST", rp.R + "/artifacts/{digest}/undelete"): lambda w: Call(path={**REPO, "digest": w.deleted_artifact()}),
    ("GET", rp.R + "/tags/{tag}/history"): _sample(path={**REPO, "tag": "v1"}),
    ("POST", rp.R + "/tags/{tag}/restore"): lambda w: Call(path={**REPO, "tag": "v1"},
                                                           body={"at": str(w.position)}),
    ("GET", API + "/labels"): lambda w: Call(query={"scope": "p", "project_id": w.p1_id}),
    ("POST", API + "/labels"): lambda w: Call(body={"name": f"new{w.n()}", "scope": "p", "project_id": w.p1_id}),
    ("GET", API + "/labels/{label_id}"): lambda w: Call(path={"label_id": w.label_id}),
    ("PUT", API + "/labels/{label_id}"): lambda w: Call(path={"label_id": w.label_id}, body={"description": "d"}),
    ("DELETE", API + "/labels/{label_id}"): lambda w: Call(path={"label_id": w.fresh_label()}),
    ("GET", API + "/robots"): lambda w: Call(query={"q": f"ProjectID={w.p1_id}"}),
    ("POST", API + "/robots"): lambda w: Call(body=w.robot_body(f"new{w.n()}")),
    ("GET", API + "/robots/{robot_id}"): lambda w: Call(path={"robot_id": w.ci_robot_id}),
    ("PUT", API + "/robots/{robot_id}"): lambda w: (lambda rid: Call(path={"robot_id": rid},
                                                                     body=w.robot_body("same")))(w.fresh_robot()),
    ("PATCH", API + "/robots/{robot_id}"): lambda w: Call(path={"robot_id": w.fresh_robot()}, body={}),
    ("DELETE", API + "/robots/{robot_id}"): lambda w: Call(path={"robot_id": w.fresh_robot()}),
    ("GET", API + "/robots/{robot_id}/trust"): lambda w: Call(path={"robot_id": w.ci_robot_id}),
    ("PUT", API + "/robots/{robot_id}/trust"): lambda w: Call(path={"robot_id": w.fresh_robot()}, body={
        "policies": [{"issuer": "https://ci.example.com", "audience": "tidemark",
                      "subject": "repo:org/app:ref:refs/heads/main"}]}),
    ("GET", API + "/quotas"): _sample(),
    ("GET", API + "/quotas/{id}"): lambda w: Call(path={"id": w.p1_id}),
    ("PUT", API + "/quotas/{id}"): lambda w: Call(path={"id": w.p1_id}, body={"hard": {"storage": -1}}),
    ("GET", rp.P + "/immutabletagrules"): _sample(path=P1),
    ("POST", rp.P + "/immutabletagrules"): lambda w: Call(path=P1, body=w.rule_body()),
    ("PUT", rp.P + "/immutabletagrules/{immutable_rule_id}"): lambda w: Call(
        path={**P1, "immutable_rule_id": w.rule_id}, body=w.rule_body()),
    ("DELETE", rp.P + "/immutabletagrules/{immutable_rule_id}"): lambda w: Call(
        path={**P1, "immutable_rule_id": w.fresh_rule()}),
    ("GET", API + "/retentions/metadatas"): _sample(),
    # p1 has a policy: an allowed caller gets 409
    ("POST", API + "/retentions"): lambda w: Call(body=w.retention_body(w.p1_id)),
    ("GET", rp.RET): lambda w: Call(path=RETENTION(w)),
    ("PUT", rp.RET): lambda w: Call(path=RETENTION(w), body=w.retention_body(w.p1_id)),
    ("DELETE", rp.RET): lambda w: Call(path={"policy_id": w.fresh_retention()}, project="other"),
    ("GET", rp.RET + "/executions"): lambda w: Call(path=RETENTION(w)),
    ("POST", rp.RET + "/executions"): lambda w: Call(path=RETENTION(w), body={"dry_run": True}),
    ("PATCH", rp.RET + "/executions/{execution_id}"): lambda w: Call(
        path={**RETENTION(w), "execution_id": w.execution_id}, body={"action": "stop"}),
    ("GET", rp.RET + "/executions/{execution_id}/tasks"): lambda w: Call(
        path={**RETENTION(w), "execution_id": w.execution_id}),
    ("GET", rp.RET + "/executions/{execution_id}/tasks/{task_id}"): lambda w: Call(
        path={**RETENTION(w), "execution_id": w.execution_id, "task_id": w.task_id}),
    ("GET", rp.W + "/policies"): _sample(path=P1),
    ("POST", rp.W + "/policies"): lambda w: Call(path=P1, body=w.webhook_body()),
    ("GET", rp.W + "/policies/{webhook_policy_id}"): lambda w: Call(path=WEBHOOK(w)),
    ("PUT", rp.W + "/policies/{webhook_policy_id}"): lambda w: (lambda pid: Call(
        path={**P1, "webhook_policy_id": pid}, body=w.webhook_body()))(w.fresh_webhook()),
    ("DELETE", rp.W + "/policies/{webhook_policy_id}"): lambda w: Call(
        path={**P1, "webhook_policy_id": w.fresh_webhook()}),
    ("POST", rp.W + "/policies/{webhook_policy_id}/replay"): lambda w: Call(
        path=WEBHOOK(w), body={"from": w.registry.app.head()}),
    ("GET", rp.W + "/policies/{webhook_policy_id}/executions"): lambda w: Call(path=WEBHOOK(w)),
    ("GET", rp.W + "/policies/{webhook_policy_id}/executions/{execution_id}/tasks"): lambda w: Call(
        path={**WEBHOOK(w), "execution_id": w.job_id}),
    ("GET", rp.W + "/policies/{webhook_policy_id}/executions/{execution_id}/tasks/{task_id}/log"):
        lambda w: Call(path={**WEBHOOK(w), "execution_id": w.job_id, "task_id": w.job_id}),
    ("GET", rp.W + "/events"): _sample(path=P1),
    ("GET", rp.W + "/lasttrigger"): _sample(path=P1),
    ("GET", rp.W + "/jobs"): lambda w: Call(path=P1, query={"policy_id": w.webhook_id}),
    ("GET", rp.W + "/jobs/{job_id}"): lambda w: Call(path={**P1, "job_id": w.job_id}),
    ("POST", rp.W + "/jobs/{job_id}/retry"): lambda w: Call(path={**P1, "job_id": w.job_id}),
    ("GET", API + "/system/gc"): _sample(),
    ("GET", API + "/system/gc/schedule"): _sample(),
    ("POST", API + "/system/gc/schedule"): _sample(body={"schedule": {"type": "Manual"},
                                                        "parameters": {"dry_run": True}}),
    ("PUT", API + "/system/gc/schedule"): _sample(body={"schedule": {"type": "None"}}),
    ("GET", API + "/system/gc/{gc_id}"): lambda w: Call(path={"gc_id": w.gc_id}),
    ("GET", API + "/system/gc/{gc_id}/log"): lambda w: Call(path={"gc_id": w.gc_id}),
    ("PUT", API + "/system/gc/{gc_id}"): lambda w: Call(path={"gc_id": w.gc_id}),  # ended: 409
    ("GET", API + "/jobservice/pools"): _sample(),
    ("GET", API + "/jobservice/pools/{pool_id}/workers"): _sample(path={"pool_id": "all"}),
    ("GET", API + "/jobservice/queues"): _sample(),
    # allowed callers get 422: a log follower cannot be paused
    ("PUT", API + "/jobservice/queues/{job_type}"): _sample(path={"job_type": "audit"}, body={"action": "pause"}),
    ("GET", API + "/jobservice/jobs/{job_id}/log"): lambda w: Call(path={"job_id": f"gc-{w.gc_id}"}),
    ("GET", API + "/schedules"): _sample(),
    ("GET", API + "/schedules/{job_type}/paused"): _sample(path={"job_type": "all"}),
    ("GET", API + "/configurations"): _sample(),
    ("PUT", API + "/configurations"): _sample(body={"banner_message": "routes"}),
    # no directory is configured: allowed callers get 200 {"success": false} or 400
    ("POST", API + "/ldap/ping"): _sample(body={"ldap_url": "ldap://127.0.0.1:9", "ldap_base_dn": "dc=example,dc=org",
                                                "ldap_search_dn": "cn=reader,dc=example,dc=org",
                                                "ldap_search_password": "Reader-Secret"}),
    ("GET", API + "/ldap/users/search"): _sample(query={"username": "alice"}),
    ("POST", API + "/ldap/users/import"): _sample(body={"ldap_uid_list": ["alice"]}),
    ("GET", API + "/ldap/groups/search"): _sample(query={"groupname": "developers"}),
    ("GET", API + "/system/CVEAllowlist"): _sample(),
    ("PUT", API + "/system/CVEAllowlist"): _sample(body={"items": [{"cve_id": "CVE-2019-10164"}]}),
    ("GET", API + "/security/summary"): _sample(query={"with_dangerous_cve": "true",
                                                       "with_dangerous_artifact": "true"}),
    ("GET", API + "/security/vul"): _sample(query={"q": "severity=Critical", "with_tag": "true"}),
    ("GET", API + "/security/vul/{cve_id}/artifacts"): _sample(path={"cve_id": "CVE-2024-0001"}),
    ("POST", API + "/export/cve"): lambda w: Call(body={"job_name": "matrix", "projects": [w.p1_id]},
                                                  headers={"x-scan-data-type": SCAN_DATA}),
    ("GET", API + "/export/cve/executions"): _sample(),
    ("GET", API + "/audit-logs"): _sample(),
    ("GET", API + "/auditlog-exts"): _sample(query={"q": "event_type=create_artifact"}),
    ("GET", API + "/auditlog-exts/events"): _sample(),
    ("GET", API + "/projects/{project_name}/auditlog-exts"): _sample(path={"project_name": "p1"}),
    ("GET", API + "/system/purgeaudit"): _sample(),
    ("GET", API + "/system/purgeaudit/schedule"): _sample(),
    ("POST", API + "/system/purgeaudit/schedule"): _sample(body=PURGE_NOTHING),
    ("PUT", API + "/system/purgeaudit/schedule"): _sample(body={"schedule": {"type": "None"}}),
    ("GET", API + "/system/purgeaudit/{purge_id}"): lambda w: Call(path={"purge_id": w.purge_id}),
    ("GET", API + "/system/purgeaudit/{purge_id}/log"): lambda w: Call(path={"purge_id": w.purge_id}),
    ("PUT", API + "/system/purgeaudit/{purge_id}"): lambda w: Call(path={"purge_id": w.purge_id}),  # ended: 200
    ("GET", API + "/scanners"): _sample(),
    ("POST", API + "/scanners"): lambda w: Call(body={"name": f"s{w.n()}", "url": "http://127.0.0.1:9"}),
    # allowed callers get 400: nothing listens there
    ("POST", API + "/scanners/ping"): _sample(body={"name": "ping", "url": "http://127.0.0.1:9"}),
    ("GET", API + "/scanners/{registration_id}"): lambda w: Call(path={"registration_id": w.scanner_id}),
    ("PUT", API + "/scanners/{registration_id}"): lambda w: Call(
        path={"registration_id": w.scanner_id}, body={"name": w.scanner_name, "url": "http://127.0.0.1:9"}),
    ("DELETE", API + "/scanners/{registration_id}"): lambda w: Call(
        path={"registration_id": w.fresh_scanner()[1]}),
    ("PATCH", API + "/scanners/{registration_id}"): lambda w: Call(
        path={"registration_id": w.scanner_id}, body={"is_default": True}),
    ("GET", API + "/scanners/{registration_id}/metadata"): lambda w: Call(path={"registration_id": w.scanner_id}),
    ("GET", rp.P + "/scanner"): _sample(path=P1),
    ("PUT", rp.P + "/scanner"): lambda w: Call(path=P1, body={"uuid": w.scanner_id}),
    ("GET", rp.P + "/scanner/candidates"): _sample(path=P1),
    # allowed callers get 202, or 409 while a scan runs
    ("POST", rp.A + "/scan"): _sample(path=V1),
    ("POST", rp.A + "/scan/stop"): _sample(path=V1, body={"scan_type": "vulnerability"}),
    ("GET", rp.A + "/scan/{report_id}/log"): lambda w: Call(path={**V1, "report_id": w.report_id}),
    ("GET", API + "/system/scanAll/schedule"): _sample(),
    # allowed callers get 201, or 409 while a run asks for its scans
    ("POST", API + "/system/scanAll/schedule"): _sample(body={"schedule": {"type": "Manual"}}),
    ("PUT", API + "/system/scanAll/schedule"): _sample(body={"schedule": {"type": "None"}}),
    ("POST", API + "/system/scanAll/stop"): _sample(),  # 202, or 409 with nothing to stop
    ("GET", API + "/scans/all/metrics"): _sample(),
    ("GET", API + "/scans/schedule/metrics"): _sample(),
    ("GET", API + "/events"): _sample(),
    ("GET", API + "/registries"): _sample(),
    ("POST", API + "/registries"): lambda w: Call(body={"name": f"r{w.n()}", "url": "http://127.0.0.1:9"}),
    # allowed callers get 400: nothing answers there
    ("POST", API + "/registries/ping"): _sample(body={"type": "docker-registry", "url": "http://127.0.0.1:9"}),
    ("GET", API + "/registries/{id}"): lambda w: Call(path={"id": w.registry_id}),
    ("PUT", API + "/registries/{id}"): lambda w: Call(path={"id": w.registry_id}, body={"description": "x"}),
    ("DELETE", API + "/registries/{id}"): lambda w: Call(path={"id": w.fresh_registry()}),
    ("GET", API + "/registries/{id}/info"): lambda w: Call(path={"id": w.registry_id}),
    ("GET", API + "/replication/adapters"): _sample(),
    ("GET", API + "/replication/adapterinfos"): _sample(),
    ("GET", API + "/replication/policies"): _sample(),
    ("POST", API + "/replication/policies"): lambda w: Call(body=w.replication_policy_body()),
    ("GET", API + "/replication/policies/{id}"): lambda w: Call(path={"id": w.replication_policy_id}),
    ("PUT", API + "/replication/policies/{id}"): lambda w: Call(
        path={"id": w.replication_policy_id}, body={**w.replication_policy_body(), "name": ""}),
    ("DELETE", API + "/replication/policies/{id}"): lambda w: Call(path={"id": w.fresh_replication_policy()}),
    ("GET", API + "/replication/executions"): _sample(),
    ("POST", API + "/replication/executions"): lambda w: Call(body={"policy_id": w.replication_policy_id}),
    ("GET", API + "/replication/executions/{id}"): lambda w: Call(path={"id": w.replication_execution_id}),
    # allowed callers get 200, or 409 once it has ended
    ("PUT", API + "/replication/executions/{id}"): lambda w: Call(path={"id": w.replication_execution_id}),
    ("GET", API + "/replication/executions/{id}/tasks"): lambda w: Call(path={"id": w.replication_execution_id}),
    ("GET", API + "/replication/executions/{id}/tasks/{task_id}/log"): lambda w: Call(
        path={"id": w.replication_execution_id, "task_id": w.replication_task_id}),
    ("POST", API + "/replication/metadata/batches"): lambda w: Call(
        body={"source": f"tidemark-{w.n()}", "after": 0, "through": 1, "events": []}),
    ("GET", API + "/replication/metadata/sources"): _sample(),
    # an allowed caller gets 400 for the bad position (the stream would never end)
    ("GET", API + "/events/stream"): _sample(headers={"last-event-id": "not-a-position"}),
}

# Routes the matrix does not call: the OCI API (its token rules have their own tests) and
# Litestar's OpenAPI viewers (turned off; they answer 404 to everyone).
NOT_CALLED = {("*", "/v2")} | {("GET", API + path) for path in rp.OPENAPI_PATHS if path != "/openapi.json"}
# A CVE export execution is its owner's alone: every other caller gets a 404 for its id (an
# id must not tell another user it exists), which this matrix would read as a refusal;
# tests/integration/test_cve_export.py checks these routes for every kind of caller.
NOT_CALLED |= {(method, API + path) for method, path in (
    ("GET", "/export/cve/execution/{execution_id}"), ("DELETE", "/export/cve/execution/{execution_id}"),
    ("GET", "/export/cve/download/{execution_id}"))}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with World(tmp_path_factory.mktemp("routes")) as world:
        yield world


def _url(path: str, params: dict) -> str:
    for key, value in params.items():
        path = path.replace("{" + key + "}", str(value))
    assert "{" not in path, path
    return path


def test_every_route_of_the_app_is_in_the_table_and_the_matrix(world):
    routes = {(method, route_key(route.path))
              for route in world.client.app.routes for handler in getattr(route, "route_handlers", [])
              for method in handler.http_methods if method != "OPTIONS"}
    routes = {("*", "/v2") if path == "/v2" else (method, path) for method, path in routes}
    assert routes - set(rp.TABLE) == set()
    assert set(rp.TABLE) - set(SAMPLES) - NOT_CALLED == set()


@pytest.mark.parametrize("route", sorted(SAMPLES, key=lambda r: (r[1], r[0])), ids=lambda r: f"{r[0]} {r[1]}")
def test_route_allows_exactly_the_callers_its_need_names(world, route):
    method, template = route
    need = rp.TABLE[route]
    wrong = []
    for name, spec in CALLERS.items():
        call = SAMPLES[route](world)
        response = world.http.request(method, _url(template, call.path), params=call.query,
                                      json=call.body, headers={**call.headers,
                                                               "authorization": world.credentials[name]})
        allowed = response.status_code not in (401, 403, 404)
        refusal = 401 if spec.kind == "anonymous" else 403
        if allowed != expected(need, spec, call) or (not allowed and response.status_code != refusal):
            wrong.append(f"{name}: {response.status_code} {response.text[:160]}")
        assert response.status_code < 500, f"{name}: {response.status_code} {response.text[:300]}"
    assert not wrong, f"{method} {template} ({need}):\n" + "\n".join(wrong)
