"""The replication domain in memory: the destination namespace rule, filters, the set-up's
invariants (ids, names, references) and an execution's statuses."""

import uuid

import pytest

from domain.base import Actor
from domain.errors import BadRequest, Conflict, NotFound, PreconditionFailed
from domain.replication.endpoints import EndpointSpec
from domain.replication.execution import ERROR, PENDING, STOPPED, SUCCESS, ReplicationExecution
from domain.replication.policy import PolicySpec
from domain.replication.selection import (
    Filter, artifact_selected, check_filters, destination, repository_selected, tag_selected)
from domain.replication.setup import ReplicationSetup

ADMIN = Actor(name="admin")
IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.mark.parametrize("repository, namespace, count, expected", [
    ("library/app", "", -1, "library/app"),
    ("library/app", "mirror", -1, "mirror/app"),
    ("a/b/c", "mirror", -1, "mirror/b/c"),
    ("a/b/c", "mirror", 0, "mirror/a/b/c"),
    ("a/b/c", "mirror", 1, "mirror/b/c"),
    ("a/b/c", "mirror", 2, "mirror/c"),
    ("a/b/c", "m/n", 3, "m/n"),
])
def test_destination_follows_harbor_s_namespace_rule(repository, namespace, count, expected):
    assert destination(repository, namespace, count) == expected


def test_a_replace_count_beyond_the_path_is_refused():
    with pytest.raises(BadRequest):
        destination("a/b", "mirror", 3)


def test_filters_select_names_tags_labels_and_resources():
    filters = [{"type": f.type, "value": f.value, "decoration": f.decoration, "kind": f.kind}
               for f in check_filters([Filter(type="name", value="library/**"),
                                       Filter(type="tag", value="v[0-9]*"),
                                       Filter(type="label", value=["prod"]),
                                       Filter(type="resource", value="image")])]
    assert repository_selected(filters, "library/app") and not repository_selected(filters, "other/app")
    assert tag_selected(filters, "v1") and not tag_selected(filters, "latest")
    assert artifact_selected(filters, OCI_MANIFEST, IMAGE_CONFIG, ["prod", "x"])
    assert not artifact_selected(filters, OCI_MANIFEST, IMAGE_CONFIG, ["x"])
    assert not artifact_selected(filters, OCI_MANIFEST, "application/vnd.cncf.helm.config.v1+json", ["prod"])
    regex = [{"type": "tag", "value": r"v\d+", "decoration": "excludes", "kind": "regex"}]
    assert tag_selected(regex, "latest") and not tag_selected(regex, "v12")


def _setup_with_registry() -> tuple[ReplicationSetup, int]:
    setup = ReplicationSetup.start()
    registry_id = setup.add_registry(EndpointSpec(name="dest", url="https://dest.example"), False, ADMIN)
    return setup, registry_id


def test_ids_count_up_and_are_never_reused():
    setup, first = _setup_with_registry()
    setup.remove_registry(first, ADMIN)
    second = setup.add_registry(EndpointSpec(name="dest", url="https://dest.example"), False, ADMIN)
    assert (first, second) == (1, 2)


def test_a_policy_names_registries_that_exist_and_keeps_them():
    setup, registry_id = _setup_with_registry()
    with pytest.raises(BadRequest):
        setup.create_policy(PolicySpec(name="p", dest_registry_id=99), ADMIN)
    policy_id = setup.create_policy(PolicySpec(name="p", dest_registry_id=registry_id), ADMIN)
    with pytest.raises(Conflict):
        setup.create_policy(PolicySpec(name="p", dest_registry_id=registry_id), ADMIN)
    with pytest.raises(PreconditionFailed):
        setup.remove_registry(registry_id, ADMIN)
    setup.remove_policy(policy_id, ADMIN)
    setup.remove_registry(registry_id, ADMIN)
    with pytest.raises(NotFound):
        setup.policy(policy_id)


def test_a_changed_registry_keeps_its_secret_for_the_same_key():
    setup = ReplicationSetup.start()
    registry_id = setup.add_registry(EndpointSpec(name="d", url="https://d.example", access_key="u",
                                                  access_secret="sealed-1"), False, ADMIN)
    setup.change_registry(registry_id, EndpointSpec(name="d", url="https://d2.example", access_key="u"), False, ADMIN)
    assert setup.registry(registry_id)["access_secret"] == "sealed-1"
    setup.change_registry(registry_id, EndpointSpec(name="d", url="https://d2.example", access_key="v"), False, ADMIN)
    assert setup.registry(registry_id)["access_secret"] == ""


def _execution(tasks: int) -> ReplicationExecution:
    execution = ReplicationExecution.start(uuid.uuid4(), 1, {"name": "p"}, "manual", ADMIN)
    execution.plan([{"operation": "copy", "resource_type": "image", "src_resource": f"a/r{n}",
                     "dst_resource": f"a/r{n}", "work": {"items": []}} for n in range(tasks)], ADMIN)
    return execution


def test_an_execution_ends_with_its_tasks():
    execution = _execution(2)
    assert execution.start_task(1, ADMIN)
    execution.end_task(1, SUCCESS, "", 1, {}, [], ADMIN)
    assert not execution.ended
    execution.end_task(2, ERROR, "boom", 3, {}, [], ADMIN)
    assert execution.status == ERROR and execution.counts()["failed"] == 1
    assert _execution(0).status == SUCCESS  # nothing to replicate


def test_a_stop_stops_pending_tasks_and_ends_once_running_ones_end():
    execution = _execution(2)
    execution.start_task(1, ADMIN)
    execution.stop(ADMIN)
    assert execution.tasks[2]["status"] == STOPPED and not execution.ended
    assert not execution.start_task(2, ADMIN)
    execution.end_task(1, ERROR, "interrupted", 1, {}, [], ADMIN)
    assert execution.tasks[1]["status"] == STOPPED and execution.status == STOPPED
    with pytest.raises(Conflict):
        execution.stop(ADMIN)
    assert PENDING not in [t["status"] for t in execution.tasks.values()]
