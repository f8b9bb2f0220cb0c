"""PyPI's `harborapi` across artifacts, labels, quotas, policies, GC, audit logs and permissions.

The second half of test_harbor_client.py (same server, same pushed image hc/app:v1).
"""

from __future__ import annotations

import asyncio

import pytest
from harborapi import models as m  # the test extra installs it
from harborapi.exceptions import NotFound

from .harbor_client_world import PROJECT, REPOSITORY, World, call, harbor_client, run, world  # noqa: F401

pytestmark = pytest.mark.e2e


def _id(location: str) -> int:
    return int(location.rstrip("/").rsplit("/", 1)[-1])


def test_artifacts_and_tags(world: World) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        artifacts = await call("get_artifacts", client.get_artifacts(PROJECT, REPOSITORY))
        assert [a.digest for a in artifacts] == [world.digest]
        assert [t.name for t in artifacts[0].tags] == ["v1"]
        artifact = await call("get_artifact", client.get_artifact(PROJECT, REPOSITORY, "v1",
                                                                  with_label=True))
        assert (artifact.digest, artifact.type, artifact.project_id) == (
            world.digest, "IMAGE", world.project_id)
        assert artifact.size and artifact.size > 0
        await call("create_artifact_tag", client.create_artifact_tag(
            PROJECT, REPOSITORY, world.digest, m.Tag(name="stable")))
        tags = await call("get_artifact_tags", client.get_artifact_tags(PROJECT, REPOSITORY, "v1"))
        assert sorted(t.name for t in tags) == ["stable", "v1"]
        repo = await call("get_repository", client.get_repository(PROJECT, REPOSITORY))
        assert artifact.repository_id == repo.id
        assert {(t.repository_id, t.artifact_id) for t in tags} == {(repo.id, artifact.id)}
        await call("delete_artifact_tag", client.delete_artifact_tag(
            PROJECT, REPOSITORY, world.digest, "stable"))
        tags = await call("get_artifact_tags after delete", client.get_artifact_tags(
            PROJECT, REPOSITORY, world.digest))
        assert [t.name for t in tags] == ["v1"]
        await call("copy_artifact", client.copy_artifact(
            PROJECT, "copied", f"{PROJECT}/{REPOSITORY}@{world.digest}"))
        copied = await call("get_artifact (the copy)", client.get_artifact(
            PROJECT, "copied", world.digest))
        assert copied.digest == world.digest
        accessories = await call("get_artifact_accessories", client.get_artifact_accessories(
            PROJECT, REPOSITORY, world.digest))
        assert accessories == []
        await call("delete_artifact", client.delete_artifact(PROJECT, "copied", world.digest))
        assert await call("get_artifacts after delete", client.get_artifacts(PROJECT, "copied")) == []
    run(scenario)


def test_artifact_list_flags(world: World) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        untagged = await call("get_artifacts with_tag=False", client.get_artifacts(
            PROJECT, REPOSITORY, with_tag=False))
        assert [(a.digest, a.tags) for a in untagged] == [(world.digest, None)]
        flagged = await call("get_artifacts with_immutable_status", client.get_artifacts(
            PROJECT, REPOSITORY, with_immutable_status=True, with_accessory=True))
        assert "v1" in [t.name for t in flagged[0].tags]
        assert {t.immutable for t in flagged[0].tags} == {False}
        everywhere = await call("get_project_artifacts", client.get_project_artifacts(PROJECT))
        assert world.digest in [a.digest for a in everywhere]
        mine = next(a for a in everywhere if a.digest == world.digest)
        assert mine.size > 100_000  # manifest + config + layers (~160 KiB), as Harbor counts
        assert (mine.extra_attrs.root or {}).get("architecture") == "amd64"
    run(scenario)


def test_labels(world: World) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        label_id = _id(await call("create_label", client.create_label(m.Label(
            name="hc-release", description="ready", color="#00ff00", scope="g"))))
        label = await call("get_label", client.get_label(label_id))
        assert (label.name, label.color, label.scope) == ("hc-release", "#00ff00", "g")
        await call("update_label", client.update_label(label_id, m.Label(
            name="hc-release", description="shipped", color="#0000ff", scope="g")))
        listed = await call("get_labels", client.get_labels(name="hc-release", scope="g"))
        assert [(x.id, x.description) for x in listed] == [(label_id, "shipped")]
        await call("add_artifact_label", client.add_artifact_label(
            PROJECT, REPOSITORY, world.digest, m.Label(id=label_id)))
        artifact = await call("get_artifact with_label", client.get_artifact(
            PROJECT, REPOSITORY, world.digest, with_label=True))
        assert [x.name for x in artifact.labels] == ["hc-release"]
        await call("delete_artifact_label", client.delete_artifact_label(
            PROJECT, REPOSITORY, world.digest, label_id))
        artifact = await call("get_artifact after unlabel", client.get_artifact(
            PROJECT, REPOSITORY, world.digest, with_label=True))
        assert not artifact.labels
        await call("delete_label", client.delete_label(label_id))
        assert await call("get_labels after delete", client.get_labels(name="hc-release",
                                                                       scope="g")) == []
    run(scenario)


def test_quotas(world: World) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        quotas = await call("get_quotas", client.get_quotas(reference="project",
                                                            reference_id=str(world.project_id)))
        assert len(quotas) == 1 and quotas[0].ref.root["name"] == PROJECT
        assert quotas[0].used.root["storage"] > 0
        await call("update_quota", client.update_quota(
            quotas[0].id, m.QuotaUpdateReq(hard=m.ResourceList(storage=10 * 2**30))))
        quota = await call("get_quota", client.get_quota(quotas[0].id))
        assert quota.hard.root["storage"] == 10 * 2**30
    run(scenario)


def test_immutable_rules(world: World) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        rule = m.ImmutableRule(action="immutable", template="immutable_template", disabled=False,
                               tag_selectors=[m.ImmutableSelector(kind="doublestar",
                                                                  decoration="matches", pattern="rel-*")],
                               scope_selectors={"repository": [m.ImmutableSelector(
                                   kind="doublestar", decoration="repoMatches", pattern="**")]})
        rule_id = _id(await call("create_project_immutable_tag_rule",
                                 client.create_project_immutable_tag_rule(PROJECT, rule)))
        rules = await call("get_project_immutable_tag_rules",
                           client.get_project_immutable_tag_rules(PROJECT))
        assert [(r.id, r.tag_selectors[0].pattern, r.disabled) for r in rules] == [
            (rule_id, "rel-*", False)]
        await call("enable_project_immutable_tagrule (disable)",
                   client.enable_project_immutable_tagrule(PROJECT, rule_id, enabled=False))
        rules = await call("get_project_immutable_tag_rules after disable",
                           client.get_project_immutable_tag_rules(PROJECT))
        assert [r.disabled for r in rules] == [True]
        await call("delete_project_immutable_tag_rule",
                   client.delete_project_immutable_tag_rule(PROJECT, rule_id))
        assert await call("get_project_immutable_tag_rules after delete",
                          client.get_project_immutable_tag_rules(PROJECT)) == []
    run(scenario)


def test_retention(world: World) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        metadata = await call("get_retention_metadata", client.get_retention_metadata())
        assert "latestPushedK" in [t.rule_template for t in metadata.templates]
        policy = m.RetentionPolicy(
            algorithm="or", trigger=m.RetentionRuleTrigger(kind="Schedule", settings={"cron": ""}),
            scope=m.RetentionPolicyScope(level="project", ref=world.project_id),
            rules=[m.RetentionRule(action="retain", template="latestPushedK", params={
                "latestPushedK": 5}, tag_selectors=[m.RetentionSelector(
                    kind="doublestar", decoration="matches", pattern="**")], scope_selectors={
                "repository": [m.RetentionSelector(kind="doublestar", decoration="repoMatches",
                                                   pattern="**")]})])
        retention_id = _id(await call("create_retention_policy",
                                      client.create_retention_policy(policy)))
        assert await call("get_project_retention_id",
                          client.get_project_retention_id(PROJECT)) == retention_id
        stored = await call("get_retention_policy", client.get_retention_policy(retention_id))
        assert (stored.algorithm, stored.rules[0].params["latestPushedK"]) == ("or", 5)
        execution_id = _id(await call("start_retention_execution",
                                      client.start_retention_execution(retention_id, dry_run=True)))
        executions = await call("get_retention_executions",
                                client.get_retention_executions(retention_id))
        assert executions[0].id == execution_id and executions[0].dry_run is True
        for _ in range(100):  # the execution runs in the background; wait until it has tasks
            tasks = await call("get_retention_tasks", client.get_retention_tasks(
                retention_id, execution_id))
            if tasks and all(t.status in ("Success", "Error", "Stopped") for t in tasks):
                break
            await asyncio.sleep(0.1)
        assert (f"{PROJECT}/{REPOSITORY}", "Success") in [(t.repository, t.status) for t in tasks]
        assert {t.status for t in tasks} == {"Success"}
        log = await call("get_retention_execution_task_log", client.get_retention_execution_task_log(
            retention_id, execution_id, tasks[0].id))
        assert isinstance(log, str)
        await call("stop_retention_execution (ended)",
                   client.stop_retention_execution(retention_id, execution_id))
        await call("delete_retention_policy", client.delete_retention_policy(retention_id))
        with pytest.raises(NotFound):  # harborapi's 404
            await client.get_retention_policy(retention_id)
    run(scenario)


def test_webhooks(world: World) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        events = await call("get_webhook_supported_events", client.get_webhook_supported_events(
            PROJECT))
        assert "PUSH_ARTIFACT" in [e.root for e in events.event_type]
        assert "http" in [t.root for t in events.notify_type]
        policy = m.WebhookPolicy(name="hc-hook", description="ci", enabled=True,
                                 event_types=["PUSH_ARTIFACT"], targets=[m.WebhookTargetObject(
                                     type="http", address="http://127.0.0.1:9/hook",
                                     skip_cert_verify=True)])
        policy_id = _id(await call("create_webhook_policy", client.create_webhook_policy(
            PROJECT, policy)))
        stored = await call("get_webhook_policy", client.get_webhook_policy(PROJECT, policy_id))
        assert (stored.name, stored.event_types, stored.targets[0].address) == (
            "hc-hook", ["PUSH_ARTIFACT"], "http://127.0.0.1:9/hook")
        stored.description = "ci, renamed"
        await call("update_webhook_policy", client.update_webhook_policy(PROJECT, policy_id, stored))
        listed = await call("get_webhook_policies", client.get_webhook_policies(PROJECT))
        assert [(p.id, p.description) for p in listed] == [(policy_id, "ci, renamed")]
        jobs = await call("get_webhook_jobs", client.get_webhook_jobs(PROJECT, policy_id))
        assert jobs == []
        triggers = await call("get_webhook_policy_last_trigger",
                              client.get_webhook_policy_last_trigger(PROJECT))
        assert [t.policy_name for t in triggers] == ["hc-hook"]
        await call("delete_webhook_policy", client.delete_webhook_policy(PROJECT, policy_id))
        assert await call("get_webhook_policies after delete",
                          client.get_webhook_policies(PROJECT)) == []
    run(scenario)


def test_gc(world: World) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        await call("update_gc_schedule", client.update_gc_schedule(m.Schedule(
            schedule=m.ScheduleObj(type="Custom", cron="0 0 3 * * *"),
            parameters={"delete_untagged": True})))
        schedule = await call("get_gc_schedule", client.get_gc_schedule())
        assert (schedule.schedule.type.value, schedule.schedule.cron) == ("Custom", "0 0 3 * * *")
        location = await call("create_gc_schedule (Manual: run now)", client.create_gc_schedule(
            m.Schedule(schedule=m.ScheduleObj(type="Manual"), parameters={"dry_run": True})))
        gc_id = _id(location)
        for _ in range(100):
            job = await call("get_gc_job", client.get_gc_job(gc_id))
            if job.job_status in ("Success", "Error", "Stopped"):
                break
            await asyncio.sleep(0.1)
        assert (job.id, job.job_status) == (gc_id, "Success")
        assert gc_id in [j.id for j in await call("get_gc_jobs", client.get_gc_jobs())]
        log = await call("get_gc_log", client.get_gc_log(gc_id, as_list=False))
        assert log.strip()
    run(scenario)


def test_audit_logs(world: World) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        logs = await call("get_audit_logs", client.get_audit_logs(page_size=100))
        assert any(x.resource == f"{PROJECT}/{REPOSITORY}:v1" and x.operation == "create"
                   for x in logs)
        project_logs = await call("get_project_logs", client.get_project_logs(PROJECT,
                                                                              page_size=100))
        assert f"{PROJECT}/{REPOSITORY}:v1" in [x.resource for x in project_logs]
        assert "hc-proj" not in [x.resource for x in project_logs]  # another project's rows
    run(scenario)


def test_permissions(world: World) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        permissions = await call("get_permissions", client.get_permissions())
        assert any(p.resource == "repository" for p in permissions.project or [])
        mine = await call("get_current_user_permissions", client.get_current_user_permissions(
            scope=f"/project/{world.project_id}", relative=True))
        assert any((p.resource, p.action) == ("repository", "pull") for p in mine)
    run(scenario)
