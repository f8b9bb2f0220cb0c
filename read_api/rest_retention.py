"""GET routes of Harbor's tag retention API: metadata, policies, executions, tasks and task logs."""

import anyio.to_thread
from litestar import Request, Response, get
from litestar.params import FromQuery, Parameter

from domain.errors import NotFound
from domain.retention.policy import TEMPLATES
from infra.http.resources import RETENTIONS, retention_execution, retention_policy
from infra.http.rest import caller, paged, paging

BASE = RETENTIONS

METADATA = {
    "templates": [{"rule_template": name, "display_text": text, "action": "retain",
                   "params": [{"type": "int", "unit": unit, "required": True}] if key else []}
                  for name, (key, unit, text) in TEMPLATES.items()],
    "scope_selectors": [{"display_text": "Repositories", "kind": kind, "decorations": ["repoMatches", "repoExcludes"]}
                        for kind in ("doublestar", "regex")],
    "tag_selectors": [{"display_text": "Artifacts", "kind": kind, "decorations": ["matches", "excludes"]}
                      for kind in ("doublestar", "regex")],
}


def _selector(selector: dict) -> dict:
    return {"kind": selector["kind"], "decoration": selector["decoration"], "pattern": selector["pattern"],
            "extras": selector.get("extras", "")}


def policy_resp(policy_id: int, project_id: int, version: int, policy: dict) -> dict:
    rules = [{"id": r["id"], "priority": r["priority"], "disabled": r["disabled"], "action": r["action"],
              "template": r["template"], "params": r["params"],
              "tag_selectors": [_selector(s) for s in r["tag_selectors"]],
              "scope_selectors": {"repository": [_selector(s) for s in r["repository_selectors"]]}}
             for r in policy["rules"]]
    return {"id": policy_id, "algorithm": policy["algorithm"], "rules": rules,
            "trigger": {"kind": policy["trigger"], "settings": {"cron": policy["cron"]}, "references": {}},
            "scope": {"level": "project", "ref": project_id}, "version": version}


def execution_resp(row) -> dict:
    body = {"id": row.id, "policy_id": row.policy_id, "start_time": row.start_time,
            "end_time": row.end_time or "", "status": row.status, "trigger": row.trigger,
            "dry_run": row.dry_run, "policy_version": row.policy_version, "total": row.total,
            "retained": row.retained, "deleted": row.deleted}
    if row.at_position is not None:
        body["at"] = row.at_position
    if row.reason:
        body["error"] = row.reason
    return body


def task_resp(row) -> dict:
    return {"id": row.id, "execution_id": row.execution_id, "repository": row.repository, "job_id": str(row.id),
            "status": row.status, "status_code": 3, "status_revision": row.id, "start_time": row.start_time,
            "end_time": row.end_time, "total": row.total, "retained": row.retained, "deleted": row.deleted,
            "skipped": row.skipped}


@get(BASE + "/metadatas")
async def retention_metadata(request: Request) -> dict:
    return METADATA


@get(BASE + "/{policy_id:int}")
async def get_retention(request: Request, policy_id: int = Parameter(),
                        version: FromQuery[int | None] = None) -> dict:
    """The policy; `version=N` (Tidemark addition) gives it as it was at that version."""
    who = await caller(request)
    row, _ = retention_policy(who)
    if version is None or version == row.version:
        return policy_resp(row.id, row.project_id, row.version, row.policy)
    old = await anyio.to_thread.run_sync(who.registry.retention.policy_version, policy_id, version)
    if old is None:
        raise NotFound("no such version of the retention policy", {"version": version})
    return policy_resp(row.id, row.project_id, version, old)


@get(BASE + "/{policy_id:int}/executions")
async def list_retention_executions(request: Request, policy_id: int = Parameter(), page: FromQuery[int] = 1,
                                    page_size: FromQuery[int] = 10) -> Response:
    who = await caller(request)
    offset, limit = paging(page, page_size)
    rows, total = await anyio.to_thread.run_sync(who.registry.retention.runs, policy_id, offset, limit)
    return paged(request, [execution_resp(r) for r in rows], total, page, page_size)


@get(BASE + "/{policy_id:int}/executions/{execution_id:int}/tasks")
async def list_retention_tasks(request: Request, policy_id: int = Parameter(), execution_id: int = Parameter(),
                               page: FromQuery[int] = 1, page_size: FromQuery[int] = 10) -> Response:
    who = await caller(request)
    await retention_execution(who, policy_id, execution_id)
    offset, limit = paging(page, page_size)
    rows, total = await anyio.to_thread.run_sync(who.registry.retention.tasks, execution_id, offset, limit)
    return paged(request, [task_resp(r) for r in rows], total, page, page_size)


def task_log(run, task) -> str:
    """Harbor's task log: a line per artifact with what was decided and why."""
    verb = "would delete" if run.dry_run else "deleted"
    lines = [f"{task.start_time} retention of {task.repository} (execution {run.id}, policy {run.policy_id} "
             f"version {run.policy_version}{', dry run' if run.dry_run else ''}"
             f"{f', as of position {run.at_position}' if run.at_position is not None else ''})",
             f"{task.end_time} {task.total} artifacts: {task.retained} retained, {task.deleted} {verb}, "
             f"{task.skipped} skipped", "",
             "Digest                                                                  | Tags | PushedTime | "
             "PulledTime | Retention | Rule | Why"]
    for digest, tags, pushed, pulled, action, rule, reason in task.items:
        shown = "DELETE" if action == "delete" else action.upper()
        lines.append(f"{digest} | {','.join(tags) or '<untagged>'} | {pushed} | {pulled or '-'} | {shown} | "
                     f"{rule if rule is not None else '-'} | {reason}")
    return "\n".join(lines) + "\n"


@get(BASE + "/{policy_id:int}/executions/{execution_id:int}/tasks/{task_id:int}", media_type="text/plain")
async def retention_task_log(request: Request, policy_id: int = Parameter(), execution_id: int = Parameter(),
                             task_id: int = Parameter()) -> str:
    who = await caller(request)
    run = await retention_execution(who, policy_id, execution_id)
    task = await anyio.to_thread.run_sync(who.registry.retention.task, execution_id, task_id)
    if task is None:
        raise NotFound("retention task not found", {"tid": task_id})
    return task_log(run, task)
