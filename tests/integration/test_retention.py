"""Tag retention over HTTP on SQLite: policies, dry runs (now and in the past), real runs."""

import pytest

from tests.integration.conftest import basic
from tests.integration.oci_client import OCI_MANIFEST
from tests.integration.retention_flows import (
    RETENTIONS, create_policy, events, execute, keeps_the_three_newest_of_twenty, policy, project_id, rule,
    selector, tags, task_log,
)


@pytest.fixture
def backend():
    return "sqlite"


def test_keep_three_most_recently_pushed_dry_run_then_real_run(http, oci, registry):
    keeps_the_three_newest_of_twenty(http, oci, registry)


def test_days_since_last_pull_keeps_what_was_pulled(http, oci, registry):
    for name in ("a", "b", "c", "d"):
        oci.push_image("library/app", name)
    for name in ("b", "d"):
        assert http.get(f"/v2/library/app/manifests/{name}", headers={"accept": OCI_MANIFEST}).status_code == 200
    registry.pulls.flush()
    registry.catch_up()
    url = create_policy(http, rule("nDaysSinceLastPull", {"nDaysSinceLastPull": 7}))

    run = execute(http, registry, url, dry_run=False)

    assert (run["retained"], run["deleted"]) == (2, 2)
    assert sorted(tags(http, "library/app")) == ["b", "d"]
    assert "| b | " in task_log(http, url, run, "library/app")


def test_latest_pulled_and_days_since_push_combine_with_or(http, oci, registry):
    for name in ("old-1", "old-2", "old-3"):
        oci.push_image("library/app", name)
    http.get("/v2/library/app/manifests/old-1", headers={"accept": OCI_MANIFEST})
    registry.pulls.flush()
    registry.catch_up()
    url = create_policy(http, rule("latestPulledN", {"latestPulledN": 1}),
                        rule("nDaysSinceLastPush", {"nDaysSinceLastPush": 0}))
    run = execute(http, registry, url, dry_run=False)
    assert tags(http, "library/app") == ["old-1"]
    assert run["deleted"] == 2


def test_immutable_tags_survive_a_real_run(http, oci, registry):
    immutability = {"tag_selectors": [selector("release-*")],
                    "scope_selectors": {"repository": [selector(decoration="repoMatches")]}}
    assert http.post("/api/v2.0/projects/library/immutabletagrules", json=immutability).status_code == 201
    for name in ("release-1", "release-2", "dev-1", "dev-2", "dev-3"):
        oci.push_image("library/app", name)
    url = create_policy(http, rule("latestPushedK", {"latestPushedK": 1}))

    run = execute(http, registry, url, dry_run=False)

    assert sorted(tags(http, "library/app")) == ["dev-3", "release-1", "release-2"]
    assert (run["retained"], run["deleted"]) == (3, 2)
    assert "immutable tag release-1" in task_log(http, url, run, "library/app")


def test_dry_run_at_a_past_position_evaluates_the_old_state(http, oci, registry):
    first = [oci.push_image("library/app", name)[0] for name in ("a1", "a2", "a3")]
    then = http.get("/api/v2.0/events?limit=10000").headers["tidemark-position"]
    assert http.delete(f"/v2/library/app/manifests/{first[0]}").status_code == 202
    for name in ("b1", "b2"):
        oci.push_image("library/app", name)
    url = create_policy(http, rule("latestPushedK", {"latestPushedK": 1}))

    past = execute(http, registry, url, dry_run=True, at=then)

    assert (past["total"], past["retained"], past["deleted"], past["at"]) == (3, 1, 2, int(then))
    log = task_log(http, url, past, "library/app")
    assert "| a3 |" in log and "| a1 |" in log and "| b1 |" not in log
    assert sorted(tags(http, "library/app")) == ["a2", "a3", "b1", "b2"]  # nothing was deleted
    now = execute(http, registry, url, dry_run=True)
    assert (now["total"], now["deleted"]) == (4, 3)


def test_a_past_moment_needs_a_dry_run_and_must_not_be_in_the_future(http, oci, registry):
    oci.push_image("library/app", "a")
    url = create_policy(http, rule("always"))
    refused = http.post(f"{url}/executions", json={"dry_run": False, "at": "1"})
    assert refused.status_code == 400 and "at" in refused.json()["errors"][0]["message"]
    assert http.post(f"{url}/executions?at=2999-01-01T00:00:00Z", json={"dry_run": True}).status_code == 400
    assert execute(http, registry, url, dry_run=True, at="2000-01-01T00:00:00Z")["total"] == 0


def test_untagged_artifacts_are_deleted_unless_the_selector_includes_them(http, oci, registry):
    oci.push_image("library/app", "v1")
    untagged, _ = oci.push_image("library/app", "tmp")
    assert http.delete(f"/api/v2.0/projects/library/repositories/app/artifacts/{untagged}/tags/tmp").status_code == 200
    with_untagged = rule("always", tags=selector(extras='{"untagged": true}'))
    url = create_policy(http, with_untagged)
    assert execute(http, registry, url, dry_run=True)["deleted"] == 0
    assert http.put(url, json=policy(project_id(http), rule("always"))).status_code == 200
    run = execute(http, registry, url, dry_run=False)
    assert (run["deleted"], run["policy_version"]) == (1, 2)
    assert http.head(f"/v2/library/app/manifests/{untagged}").status_code == 404


def test_repository_scope_and_tag_selectors(http, oci, registry):
    for name in ("v1.0", "v1.1", "nightly-1"):
        oci.push_image("library/web", name)
        oci.push_image("library/tools/cli", name)
    keep_releases = rule("always", tags=selector(r"v\d+\.\d+", kind="regex"),
                         repos=selector("web", decoration="repoMatches"))
    url = create_policy(http, keep_releases)
    run = execute(http, registry, url, dry_run=False)
    tasks = http.get(f"{url}/executions/{run['id']}/tasks").json()
    assert [t["repository"] for t in tasks] == ["library/web"]
    assert sorted(tags(http, "library/web")) == ["v1.0", "v1.1"]
    assert sorted(tags(http, "library/tools/cli")) == ["nightly-1", "v1.0", "v1.1"]


def test_policy_edits_are_versioned_and_one_policy_per_project(http, oci, registry):
    url = create_policy(http, rule("latestPushedK", {"latestPushedK": 3}), cron="0 0 0 * * *")
    body = http.get(url).json()
    assert http.get("/api/v2.0/projects/library").json()["metadata"]["retention_id"] == str(body["id"])
    assert (body["version"], body["trigger"]["settings"]["cron"], body["rules"][0]["params"]) == \
        (1, "0 0 0 * * *", {"latestPushedK": 3})
    assert http.post(RETENTIONS, json=policy(project_id(http), rule("always"))).status_code == 409
    assert http.put(url, json=policy(project_id(http), rule("latestPushedK", {"latestPushedK": 5}))).status_code == 200
    assert http.get(url).json()["rules"][0]["params"] == {"latestPushedK": 5}
    assert http.get(f"{url}?version=1").json()["rules"][0]["params"] == {"latestPushedK": 3}
    assert http.delete(url).status_code == 200
    assert http.get(url).status_code == 404
    again = create_policy(http, rule("always"))
    assert again != url and http.get(again).json()["version"] == 3
    registry.catch_up()
    logs = http.get("/api/v2.0/audit-logs?page_size=100").json()
    assert {l["operation"] for l in logs if l["resource_type"] == "tag_retention"} == {"create", "update", "delete"}


def _bad(rules=None, **changes) -> dict:
    return {**policy(1, *(rules or [rule("latestPushedK", {"latestPushedK": 3})])), **changes}


@pytest.mark.parametrize("body,field", [
    (_bad([rule("always", tags=selector("[unclosed", kind="regex"))]), "rules[0].tag_selectors[0].pattern"),
    (_bad([rule("always", repos=selector("(", kind="regex", decoration="repoMatches"))]),
     "rules[0].scope_selectors.repository[0].pattern"),
    (_bad([rule("mostPopular")]), "rules[0].template"),
    (_bad([rule("latestPushedK")]), "rules[0].params.latestPushedK"),
    (_bad([rule("always"), rule("latestPushedK", {"latestPushedK": -1})]), "rules[1].params.latestPushedK"),
    (_bad([rule("nDaysSinceLastPull", {"nDaysSinceLastPull": "soon"})]), "rules[0].params.nDaysSinceLastPull"),
    (_bad([rule("always", tags=selector(extras="{untagged"))]), "rules[0].tag_selectors[0].extras"),
    (_bad([rule("always")] * 16), "rules"),
    (_bad(trigger={"kind": "Schedule", "settings": {"cron": "every day at noon"}}), "trigger.settings.cron"),
    (_bad(trigger={"kind": "Schedule", "settings": {"cron": "0 61 * * *"}}), "trigger.settings.cron"),
    (_bad(trigger={"kind": "Sometimes", "settings": {}}), "trigger.kind"),
    (_bad(algorithm="and"), "algorithm"),
    (_bad(scope=None), "scope.ref"),
])
def test_bad_policies_are_400_naming_the_field(http, body, field):
    response = http.post(RETENTIONS, json=body)
    assert response.status_code == 400, response.text
    assert field in response.json()["errors"][0]["message"]


def test_a_developer_cannot_create_or_run_a_policy_a_maintainer_can(http, oci, registry):
    for name, role_id in (("dev", 2), ("maint", 4)):
        http.post("/api/v2.0/users", json={"username": name, "password": "Passw0rd-" + name})
        http.post("/api/v2.0/projects/library/members", json={"role_id": role_id, "member_user": {"username": name}})
    as_dev = {"authorization": basic("dev", "Passw0rd-dev")}
    as_maint = {"authorization": basic("maint", "Passw0rd-maint")}
    body = policy(project_id(http), rule("always"))
    assert http.post(RETENTIONS, json=body, headers=as_dev).status_code == 403
    created = http.post(RETENTIONS, json=body, headers=as_maint)
    assert created.status_code == 201
    url = created.headers["location"]
    assert http.get(url, headers=as_dev).status_code == 200  # developers may read it
    assert http.post(f"{url}/executions", json={"dry_run": True}, headers=as_dev).status_code == 403
    assert http.post(f"{url}/executions", json={"dry_run": True}, headers=as_maint).status_code == 201
    assert http.get(url, headers={"authorization": ""}).status_code in (401, 404)


def test_one_run_per_policy_at_a_time_and_stop(http, oci, registry):
    from commands.retention_handlers import EndRetentionRun, StartRetentionRun
    from domain.base import Actor

    oci.push_image("library/app", "v1")
    url = create_policy(http, rule("always"))
    row = registry.retention.policy(int(url.rsplit("/", 1)[1]))
    # given: a run another process started and is still working on
    started = registry.retention_commands.start_run(StartRetentionRun(
        row.project, row.project_id, row.id, False, "MANUAL", Actor(name="elsewhere")))
    registry.catch_up()
    assert http.post(f"{url}/executions", json={"dry_run": True}).status_code == 409
    stop = http.patch(f"{url}/executions/{started.execution_id}", json={"action": "stop"})
    assert stop.status_code == 200
    # the other process sees the request when it next saves, and ends the run as Stopped
    registry.retention_commands.end_run(EndRetentionRun(started.run_id, Actor(name="elsewhere")))
    registry.catch_up()
    execution = http.get(f"{url}/executions").json()[0]
    assert (execution["id"], execution["status"]) == (started.execution_id, "Stopped")
    # stopping a run that has ended answers 200, as Harbor does, and records nothing
    head = registry.app.head()
    assert http.patch(f"{url}/executions/{started.execution_id}", json={"action": "stop"}).status_code == 200
    assert registry.app.head() == head
    assert http.patch(f"{url}/executions/{started.execution_id}", json={"action": "pause"}).status_code == 400
    assert execute(http, registry, url, dry_run=True)["status"] == "Success"


def test_runs_interrupted_by_a_crash_are_marked_failed(http, oci, registry):
    from commands.retention_handlers import StartRetentionRun
    from domain.base import Actor

    url = create_policy(http, rule("always"))
    row = registry.retention.policy(int(url.rsplit("/", 1)[1]))
    registry.retention_commands.start_run(StartRetentionRun(
        row.project, row.project_id, row.id, True, "MANUAL", Actor(name="crashed")))
    registry.catch_up()
    registry.retention_runner.close_interrupted()
    execution = http.get(f"{url}/executions").json()[0]
    assert execution["status"] == "Error" and "interrupted" in execution["error"]


def test_metadata_lists_harbors_templates(http):
    body = http.get(f"{RETENTIONS}/metadatas").json()
    assert [t["rule_template"] for t in body["templates"]] == \
        ["latestPushedK", "latestPulledN", "nDaysSinceLastPush", "nDaysSinceLastPull", "always"]
    assert body["tag_selectors"][0]["decorations"] == ["matches", "excludes"]


def test_policy_events_are_public(http, oci, registry):
    url = create_policy(http, rule("always"))
    execute(http, registry, url, dry_run=True)
    kinds = [e["type"] for e in http.get("/api/v2.0/events?limit=10000").json()]
    assert "io.tidemark.retention.policy_created.v1" in kinds
    assert kinds.count("io.tidemark.retention.run_finished.v1") == 1
    assert events(http, "io.tidemark.retention.run_started.v1")[0]["project"] == "library"


def test_the_retention_view_rebuilds_to_the_same_content(http, oci, registry):
    from projections.projector import checksum
    from projections.rebuild import rebuild
    from projections.retention_view import RetentionView

    for name in ("a", "b", "c"):
        oci.push_image("library/app", name)
    url = create_policy(http, rule("latestPushedK", {"latestPushedK": 1}), cron="0 3 * * *")
    http.put(url, json=policy(project_id(http), rule("latestPushedK", {"latestPushedK": 2})))
    execute(http, registry, url, dry_run=True)
    execute(http, registry, url, dry_run=False)
    registry.catch_up()
    live_projector = next(p for p in registry.projectors if p.name == "retention")
    live = checksum(registry.db, live_projector.view.p, live_projector.view.tables)
    assert rebuild(registry.app, registry.db, RetentionView, live_projector) == live
