"""Command handlers on the in-memory event store."""

import json

import pytest

from commands.application import RegistryApplication
from commands.artifacts.handlers import RegistryCommands
from commands.artifacts.messages import (
    CreateProject, DeleteManifest, LinkBlob, MountBlob, PushManifest, RemoveTag,
)
from domain.base import Actor
from domain.errors import BlobUnknown, ManifestBlobUnknown, ManifestUnknown, NameUnknown, ProjectExists
from domain.artifacts.manifest import Manifest
from domain.artifacts.manifest_format import OCI_MANIFEST, parse_manifest
from domain.artifacts.tag import Tag

ALICE = Actor(name="alice", client_ip="10.0.0.1", request_id="r1")
CONFIG = "sha256:" + "c" * 64
LAYER = "sha256:" + "d" * 64
DIGEST = "sha256:" + "e" * 64
OTHER = "sha256:" + "f" * 64


@pytest.fixture
def app():
    return RegistryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


@pytest.fixture
def commands(app):
    handler = RegistryCommands(app)
    handler.create_project(CreateProject("library", True, ALICE))
    return handler


def parsed():
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                       "config": {"mediaType": "x/config", "digest": CONFIG, "size": 1},
                       "layers": [{"mediaType": "x/layer", "digest": LAYER, "size": 2}]}).encode()
    return parse_manifest(body, OCI_MANIFEST)


def recorded(app) -> list:
    """Manifest and tag events in log order (quota bookkeeping left out)."""
    events = [app.mapper.to_domain_event(n) for n in app.recorder.select_notifications(start=1, limit=100)]
    return [e for e in events if type(e).__qualname__.split(".")[0] in ("Manifest", "Tag")]


def link_all(commands):
    for digest in (CONFIG, LAYER):
        commands.link_blob(LinkBlob("library/app", digest, 1, ALICE))


def test_push_with_tag_records_manifest_and_tag_with_actor(app, commands):
    link_all(commands)
    commands.push_manifest(PushManifest("library/app", DIGEST, 100, parsed(), "v1", ALICE))
    pushed, tagged = recorded(app)[-2:]
    assert isinstance(pushed, Manifest.Pushed) and pushed.blobs == [CONFIG, LAYER]
    assert isinstance(tagged, Tag.Created) and tagged.digest == DIGEST
    assert (tagged.actor, tagged.client_ip, tagged.request_id) == ("alice", "10.0.0.1", "r1")


def test_moving_a_tag_records_the_previous_digest(app, commands):
    link_all(commands)
    commands.push_manifest(PushManifest("library/app", DIGEST, 100, parsed(), "v1", ALICE))
    commands.push_manifest(PushManifest("library/app", OTHER, 100, parsed(), "v1", ALICE))
    moved = recorded(app)[-1]
    assert isinstance(moved, Tag.Moved) and moved.previous_digest == DIGEST and moved.digest == OTHER


def test_pushing_the_same_manifest_twice_records_nothing_new(app, commands):
    link_all(commands)
    commands.push_manifest(PushManifest("library/app", DIGEST, 100, parsed(), "v1", ALICE))
    before = app.head()
    outcome = commands.push_manifest(PushManifest("library/app", DIGEST, 100, parsed(), "v1", ALICE))
    assert outcome.position is None and app.head() == before


def test_manifest_with_unlinked_blob_is_refused_and_records_nothing(app, commands):
    commands.link_blob(LinkBlob("library/app", CONFIG, 1, ALICE))
    before = app.head()
    with pytest.raises(ManifestBlobUnknown):
        commands.push_manifest(PushManifest("library/app", DIGEST, 100, parsed(), "v1", ALICE))
    assert app.head() == before


def test_unknown_project_is_refused(commands):
    with pytest.raises(NameUnknown):
        commands.link_blob(LinkBlob("nope/app", CONFIG, 1, ALICE))


def test_project_names_are_unique(commands):
    with pytest.raises(ProjectExists):
        commands.create_project(CreateProject("library", False, ALICE))


def test_mount_needs_the_blob_in_the_source(commands):
    with pytest.raises(BlobUnknown):
        commands.mount_blob(MountBlob("library/b", CONFIG, "library/a", ALICE))
    commands.link_blob(LinkBlob("library/a", CONFIG, 7, ALICE))
    assert commands.mount_blob(MountBlob("library/b", CONFIG, "library/a", ALICE)).size == 7


def test_delete_removes_tags_still_pointing_at_the_manifest(app, commands):
    link_all(commands)
    commands.push_manifest(PushManifest("library/app", DIGEST, 100, parsed(), "v1", ALICE))
    commands.delete_manifest(DeleteManifest("library/app", DIGEST, ["v1"], ALICE))
    kinds = [type(e) for e in recorded(app)[-2:]]
    assert kinds == [Manifest.Deleted, Tag.Removed]
    with pytest.raises(ManifestUnknown):
        commands.remove_tag(RemoveTag("library/app", "v1", ALICE))


def test_repush_after_delete_is_recorded(app, commands):
    link_all(commands)
    commands.push_manifest(PushManifest("library/app", DIGEST, 100, parsed(), None, ALICE))
    commands.delete_manifest(DeleteManifest("library/app", DIGEST, [], ALICE))
    commands.push_manifest(PushManifest("library/app", DIGEST, 100, parsed(), None, ALICE))
    assert isinstance(recorded(app)[-1], Manifest.Repushed)


def test_quota_counts_a_blob_once_per_project_and_refuses_over_the_limit(app, commands):
    from domain.errors import Denied
    from domain.quota import Quota, quota_id

    quota = commands.quotas.quota("library", 1)
    quota.set_limit(150, ALICE)
    app.save(quota)
    commands.link_blob(LinkBlob("library/a", CONFIG, 100, ALICE))
    commands.link_blob(LinkBlob("library/b", CONFIG, 100, ALICE))  # same blob: counted once
    assert app.repository.get(quota_id("library", 1)).used == 100
    with pytest.raises(Denied, match="quota"):
        commands.link_blob(LinkBlob("library/a", LAYER, 60, ALICE))
    quota = app.repository.get(quota_id("library", 1))
    assert quota.used == 100
    last = app.mapper.to_domain_event(app.recorder.select_notifications(start=app.head(), limit=1)[0])
    assert isinstance(last, Quota.Exceeded) and last.size == 60
