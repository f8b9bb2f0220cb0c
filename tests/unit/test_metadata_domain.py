"""Metadata replication's domain in memory: which events travel, the stream an event's fields
name, the project it belongs to, the policy checks, and what a source's stream remembers."""

import pytest

from domain.base import Actor
from domain.errors import BadRequest
from domain.iam.robot import Robot, robot_id
from domain.iam.user import User
from domain.immutability import ImmutabilityRules, immutability_id
from domain.project import Project, project_id
from domain.replication.metadata import (
    KIND_OF, MAX_CONFLICTS_KEPT, MetadataSource, check_source, event_project, expected_stream)
from domain.replication.policy import PolicySpec, check_policy
from domain.replication.selection import Filter, is_metadata
from domain.webhooks.policy import WebhookPolicy

ADMIN = Actor(name="admin")
METADATA = Filter(type="resource", value="metadata")


def test_projects_robots_and_project_policies_travel_and_nothing_else():
    assert KIND_OF[Project.Created] == "project" and KIND_OF[Project.MemberAdded] == "project"
    assert KIND_OF[Robot.SecretRefreshed] == "robot" and KIND_OF[ImmutabilityRules.RuleSet] == "immutability"
    assert Project.ProxyCacheSet not in KIND_OF  # a proxy project's registry id is the source's
    assert not any(cls.__qualname__.startswith("User.") for cls in KIND_OF) and User.Created not in KIND_OF
    assert KIND_OF[WebhookPolicy.Created] == "webhook" and KIND_OF[WebhookPolicy.ReplayRequested] == "webhook"


def test_an_event_belongs_to_the_stream_and_project_its_fields_name():
    assert expected_stream("project", {"name": "team"}, 1) == project_id("team")
    assert expected_stream("robot", {"name": "robot$team+ci"}, 1) == robot_id("robot$team+ci")
    assert expected_stream("immutability", {"project": "team"}, 2) == immutability_id("team", 2)
    assert expected_stream("immutability", {"project": "team"}, 2) != immutability_id("team", 1)
    assert event_project("robot", {"name": "robot$team+ci"}) == "team"
    assert event_project("robot", {"name": "robot$ci"}) is None  # a system robot
    assert event_project("retention", {"project": "team"}) == "team"
    # A webhook policy's stream is named by the project's id on each side.
    from domain.webhooks.policy import policy_key
    assert expected_stream("webhook", {"project": "team", "name": "ci"}, 1, 7) == policy_key("team", 7, "ci")
    assert expected_stream("webhook", {"project": "team", "name": "ci"}, 1, 7) != policy_key("team", 8, "ci")


def test_a_metadata_policy_pushes_and_selects_projects_only():
    base = PolicySpec(name="m", dest_registry_id=1, filters=[METADATA])
    assert is_metadata(check_policy(base).filters)
    for spec in (PolicySpec(name="m", src_registry_id=1, filters=[METADATA]),
                 PolicySpec(name="m", dest_registry_id=1, dest_namespace="x", filters=[METADATA]),
                 PolicySpec(name="m", dest_registry_id=1, filters=[METADATA, Filter(type="tag", value="v*")])):
        with pytest.raises(BadRequest):
            check_policy(spec)
    assert not is_metadata([Filter(type="resource", value="image")])


def test_a_source_keeps_its_position_counts_and_latest_conflicts():
    source = MetadataSource.start("https://a.example#policy-1@2026-12-01T00:00:00+00:00", ADMIN)
    source.take(0, 40, 10, 2, [{"reason": "x"}] * 30, ADMIN)
    source.take(40, 90, 5, 0, [{"reason": "y"}] * 30, ADMIN)
    assert (source.acknowledged, source.applied, source.skipped, source.conflict_count) == (90, 15, 2, 60)
    assert len(source.conflicts) == MAX_CONFLICTS_KEPT and source.conflicts[-1] == {"reason": "y"}
    for bad in ("", " spaces ", "x" * 300, 7):
        with pytest.raises(BadRequest):
            check_source(bad)
