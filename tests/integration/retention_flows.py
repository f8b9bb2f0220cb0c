"""Helpers for the tag retention tests, and the main flow both backends run."""

RETENTIONS = "/api/v2.0/retentions"


def selector(pattern: str = "**", decoration: str = "matches", kind: str = "doublestar",
             extras: str = "") -> dict:
    return {"kind": kind, "decoration": decoration, "pattern": pattern, "extras": extras}


def rule(template: str, params: dict | None = None, tags: dict | None = None, repos: dict | None = None) -> dict:
    return {"disabled": False, "action": "retain", "template": template, "params": params or {},
            "tag_selectors": [tags or selector()],
            "scope_selectors": {"repository": [repos or selector(decoration="repoMatches")]}}


def policy(project_id: int, *rules: dict, cron: str = "", kind: str = "Schedule") -> dict:
    return {"algorithm": "or", "rules": list(rules), "trigger": {"kind": kind, "settings": {"cron": cron}},
            "scope": {"level": "project", "ref": project_id}}


def project_id(http, name: str = "library") -> int:
    return http.get(f"/api/v2.0/projects/{name}").json()["project_id"]


def create_policy(http, *rules: dict, project: str = "library", **options) -> str:
    """Create a policy; return its URL."""
    response = http.post(RETENTIONS, json=policy(project_id(http, project), *rules, **options))
    assert response.status_code == 201, response.text
    return response.headers["location"]


def execute(http, registry, url: str, dry_run: bool, at: str | None = None) -> dict:
    """Run the policy, wait for the run, return the execution as the list shows it."""
    body = {"dry_run": dry_run} if at is None else {"dry_run": dry_run, "at": at}
    response = http.post(f"{url}/executions", json=body)
    assert response.status_code == 201, response.text
    execution_id = int(response.headers["location"].rsplit("/", 1)[1])
    registry.retention_runner.wait()
    executions = http.get(f"{url}/executions?page_size=100").json()
    return next(e for e in executions if e["id"] == execution_id)


def task_log(http, url: str, execution: dict, repository: str) -> str:
    tasks = http.get(f"{url}/executions/{execution['id']}/tasks").json()
    task = next(t for t in tasks if t["repository"] == repository)
    return http.get(f"{url}/executions/{execution['id']}/tasks/{task['id']}").text


def tags(http, repository: str) -> list[str]:
    return http.get(f"/v2/{repository}/tags/list").json()["tags"]


def events(http, kind: str) -> list[dict]:
    return http.get(f"/api/v2.0/events?type={kind}&limit=10000").json()


def keeps_the_three_newest_of_twenty(http, oci, registry) -> None:
    """Given 20 pushes and a policy keeping the 3 most recently pushed, a dry run reports 17
    deletions and deletes nothing; the real run leaves the 3 newest, each deletion with its cause."""
    names = [f"build-{n:02d}" for n in range(20)]
    for name in names:
        oci.push_image("library/app", name)
    url = create_policy(http, rule("latestPushedK", {"latestPushedK": 3}))

    dry = execute(http, registry, url, dry_run=True)
    assert (dry["status"], dry["dry_run"], dry["total"], dry["retained"], dry["deleted"]) == \
        ("Success", True, 20, 3, 17)
    assert sorted(tags(http, "library/app")) == names
    assert task_log(http, url, dry, "library/app").count("| DELETE |") == 17

    real = execute(http, registry, url, dry_run=False)
    assert (real["status"], real["deleted"], real["retained"]) == ("Success", 17, 3)
    assert sorted(tags(http, "library/app")) == names[-3:]
    removed = [e for e in events(http, "io.tidemark.tag.deleted.v1") if e["data"]["repository"] == "library/app"]
    assert sorted(e["data"]["tag"] for e in removed) == names[:17]
    policy_id = int(url.rsplit("/", 1)[1])
    for event in removed:
        cause = event["data"]["cause"]
        assert (cause["retention_run"], cause["policy_id"], cause["policy_version"], cause["rule"]) == \
            (real["id"], policy_id, 1, 1)
    deleted = [e for e in events(http, "io.tidemark.artifact.deleted.v1") if e["data"]["cause"]]
    assert len(deleted) == 17
