"""A project created again under a deleted one's name is a new generation with streams of its own;
projects recreated before generations existed keep sharing theirs."""

import json

from eventsourcing.persistence import StoredEvent

from commands.application import RegistryApplication
from commands.artifacts.handlers import RegistryCommands
from commands.iam.handlers import IamCommands
from commands.iam.messages import DeleteProject
from commands.artifacts.messages import CreateProject, LinkBlob
from domain.base import Actor
from domain.artifacts.blob_link import BlobLink, blob_link_id
from domain.names import stream_id
from domain.project import Project, project_id
from infra.store.event_codec import MsgspecMapper

ALICE = Actor(name="alice")
LAYER = "sha256:" + "d" * 64


class NoCredentials:
    def set(self, *args) -> None:
        pass

    def delete(self, *args) -> None:
        pass


def test_generation_one_keeps_the_ids_names_always_gave():
    assert blob_link_id("p/app", LAYER, 1) == stream_id("blob-link", "p/app", LAYER)
    assert blob_link_id("p/app", LAYER, 2) != blob_link_id("p/app", LAYER, 1)


def test_a_recreated_project_links_its_blobs_in_streams_of_its_own():
    app = RegistryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    commands, iam = RegistryCommands(app), IamCommands(app, NoCredentials())
    commands.create_project(CreateProject("p", False, ALICE))
    commands.link_blob(LinkBlob("p/app", LAYER, 10, ALICE))
    iam.delete_project(DeleteProject("p", 0, ALICE))
    commands.create_project(CreateProject("p", False, ALICE))
    assert app.find(project_id("p"), Project).generation == 2
    commands.link_blob(LinkBlob("p/app", LAYER, 10, ALICE))  # linked anew, not "already linked"
    assert app.find(blob_link_id("p/app", LAYER, 2), BlobLink).linked


def test_a_recreated_event_from_before_generations_keeps_the_old_streams():
    state = {"name": "p", "public": False, "actor": "a", "client_ip": "", "request_id": "",
             "timestamp": "2026-11-01T00:00:00+00:00"}
    old = StoredEvent(originator_id=project_id("p"), originator_version=3,
                      topic="domain.project:Project.Recreated", state=json.dumps(state).encode())
    event = MsgspecMapper().to_domain_event(old)
    project = Project.__new__(Project)
    project.generation = 1
    event.apply(project)
    assert event.generation == 0 and project.generation == 1
