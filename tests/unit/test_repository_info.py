"""A repository's description as events, on the in-memory store."""

import pytest

from commands.application import RegistryApplication
from commands.artifacts.handlers import RegistryCommands
from commands.artifacts.messages import CreateProject
from commands.artifacts.descriptions import DescribeRepository, RepositoryInfoCommands
from domain.base import Actor
from domain.errors import BadRequest
from domain.artifacts.repository_info import RepositoryInfo, repository_info_id

ALICE = Actor(name="alice", client_ip="10.0.0.1", request_id="r1")


@pytest.fixture
def app():
    app = RegistryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    RegistryCommands(app).create_project(CreateProject("library", True, ALICE))
    return app


def test_describing_then_changing_records_both_with_the_previous_text(app):
    commands = RepositoryInfoCommands(app)
    commands.describe_repository(DescribeRepository("library/app", "first", ALICE))
    commands.describe_repository(DescribeRepository("library/app", "second", ALICE))
    events = list(app.repository.event_store.get(repository_info_id("library/app", 1)))
    assert [type(e) for e in events] == [RepositoryInfo.Described, RepositoryInfo.DescriptionChanged]
    assert (events[1].project, events[1].description, events[1].previous, events[1].actor) == \
        ("library", "second", "first", "alice")


def test_an_unchanged_or_first_empty_description_records_nothing(app):
    commands = RepositoryInfoCommands(app)
    assert commands.describe_repository(DescribeRepository("library/app", "", ALICE)).position is None
    commands.describe_repository(DescribeRepository("library/app", "same", ALICE))
    head = app.head()
    assert commands.describe_repository(DescribeRepository("library/app", "same", ALICE)).position is None
    assert app.head() == head


@pytest.mark.parametrize("description", [7, None, ["a"], "x" * 1025])
def test_bad_descriptions_are_refused_naming_the_field(app, description):
    head = app.head()
    with pytest.raises(BadRequest) as refused:
        RepositoryInfoCommands(app).describe_repository(DescribeRepository("library/app", description, ALICE))
    assert refused.value.detail == {"field": "description"}
    assert app.head() == head
