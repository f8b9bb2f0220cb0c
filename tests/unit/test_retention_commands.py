"""Retention policy edits and run bookkeeping on the in-memory event store."""

import pytest

from commands.application import RegistryApplication
from commands.artifacts.handlers import RegistryCommands
from commands.artifacts.messages import CreateProject
from commands.retention_handlers import (
    CreateRetentionPolicy, DeleteRetentionPolicy, EndRetentionRun, RecordRetentionTask, RequestRetentionStop,
    RetentionCommands, StartRetentionRun, UpdateRetentionPolicy,
)
from domain.base import Actor
from domain.errors import BadRequest, Conflict, NotFound
from domain.retention.policy import PolicySpec, RetentionPolicy, RetentionRule, retention_id
from domain.retention.run import RetentionRun, scheduled_run_id
from domain.selectors import Selector

ALICE = Actor(name="alice")
KEEP_3 = PolicySpec([RetentionRule(0, "latestPushedK", {"latestPushedK": 3}, [Selector("doublestar", "matches", "**")],
                                   [])])


@pytest.fixture
def app():
    app = RegistryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    RegistryCommands(app).create_project(CreateProject("library", True, ALICE))
    return app


@pytest.fixture
def retention(app):
    return RetentionCommands(app)


def test_each_edit_bumps_the_version_and_carries_the_whole_policy(app, retention):
    created = retention.create_policy(CreateRetentionPolicy("library", 1, KEEP_3, ALICE))
    assert created.size == created.position
    keep_5 = PolicySpec([RetentionRule(0, "latestPushedK", {"latestPushedK": 5},
                                       [Selector("doublestar", "matches", "**")], [])])
    assert retention.update_policy(UpdateRetentionPolicy("library", 1, keep_5, ALICE)).size == 2
    policy = app.find(retention_id("library", 1), RetentionPolicy)
    assert (policy.policy_version, policy.policy.rules[0].params) == (2, {"latestPushedK": 5})
    with pytest.raises(Conflict):
        retention.create_policy(CreateRetentionPolicy("library", 1, KEEP_3, ALICE))
    retention.delete_policy(DeleteRetentionPolicy("library", 1, ALICE))
    with pytest.raises(NotFound):
        retention.update_policy(UpdateRetentionPolicy("library", 1, keep_5, ALICE))
    retention.create_policy(CreateRetentionPolicy("library", 1, KEEP_3, ALICE))
    assert app.find(retention_id("library", 1), RetentionPolicy).policy_version == 3


def test_a_policy_needs_a_live_project_and_valid_rules(retention):
    with pytest.raises(NotFound):
        retention.create_policy(CreateRetentionPolicy("nowhere", 9, KEEP_3, ALICE))
    bad = PolicySpec([RetentionRule(0, "latestPushedK", {}, [Selector("doublestar", "matches", "**")], [])])
    with pytest.raises(BadRequest):
        retention.create_policy(CreateRetentionPolicy("library", 1, bad, ALICE))


def test_a_run_records_tasks_and_ends_stopped_when_asked(app, retention):
    policy_id = retention.create_policy(CreateRetentionPolicy("library", 1, KEEP_3, ALICE)).size
    started = retention.start_run(StartRetentionRun("library", 1, policy_id, True, "MANUAL", ALICE))
    assert started.policy_version == 1 and started.spec.rules[0].id == 1
    item = ["sha256:" + "a" * 64, ["v1"], "2026-01-01T00:00:00.000000Z", None, "delete", 1, "not retained"]
    assert not retention.record_task(RecordRetentionTask(started.run_id, "library/app", "t", [item], ALICE)).stop_requested
    retention.request_stop(RequestRetentionStop(started.run_id, ALICE))
    assert retention.record_task(RecordRetentionTask(started.run_id, "library/web", "t", [], ALICE)).stop_requested
    retention.end_run(EndRetentionRun(started.run_id, ALICE))
    run = app.find(started.run_id, RetentionRun)
    assert (run.status, run.tasks) == ("Stopped", 2)


def test_a_scheduled_tick_starts_once_and_the_past_is_for_dry_runs(retention):
    policy_id = retention.create_policy(CreateRetentionPolicy("library", 1, KEEP_3, ALICE)).size
    run_id = scheduled_run_id(policy_id, "2026-01-01T00:00:00+00:00")
    retention.start_run(StartRetentionRun("library", 1, policy_id, False, "SCHEDULE", ALICE, run_id=run_id))
    with pytest.raises(Conflict):
        retention.start_run(StartRetentionRun("library", 1, policy_id, False, "SCHEDULE", ALICE, run_id=run_id))
    with pytest.raises(BadRequest):
        retention.start_run(StartRetentionRun("library", 1, policy_id, False, "MANUAL", ALICE, at_position=3))
