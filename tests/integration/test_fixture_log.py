"""An event log written by the code before the layout change still loads and replays.

The fixture (tests/fixtures/log_2026_12, see its README) was made with main at 4ad752b,
when events were stored under topics like `domain.tag:Tag.Created`. Today's code opens a
copy, rebuilds every query model from the log and must answer the same reads.
"""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from eventsourcing.utils import resolve_topic
from litestar.testing import TestClient

from infra.wiring.app import create_app
from infra.auth.credentials import TABLE as CREDENTIALS
from infra.wiring.registry import build_registry
from infra.settings import Settings
from tests.fixtures.log_2026_12.make import STORES
from tests.fixtures.log_2026_12.reads import ADMIN_PASSWORD, read_all
from tests.integration.conftest import basic

FIXTURE = Path(__file__).parent.parent / "fixtures" / "log_2026_12"


@pytest.fixture
def opened(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    for name in STORES:
        shutil.copy(FIXTURE / name, data / name)
    with sqlite3.connect(data / "views.sqlite") as views:  # the hashes only: no query model yet
        views.execute(CREDENTIALS)
        views.executemany("INSERT INTO credentials VALUES (?, ?, ?)",
                          json.loads((FIXTURE / "credentials.json").read_text()))
    settings = Settings(data_dir=str(data), external_url="http://registry.test",
                        admin_password=ADMIN_PASSWORD)
    registry = build_registry(settings)
    try:
        with TestClient(create_app(settings, registry), base_url="http://registry.test") as http:
            http.headers["authorization"] = basic("admin", ADMIN_PASSWORD)
            yield registry, http
    finally:
        registry.close()


def test_every_stored_event_loads_as_a_domain_event(opened):
    registry, _ = opened
    for app in (registry.app, registry.webhook_log):
        stored = app.recorder.select_notifications(start=1, limit=100_000)
        assert stored
        for notification in stored:
            event = app.mapper.to_domain_event(notification)
            assert type(event).__qualname__ == notification.topic.split(":", 1)[1]


def test_the_query_models_rebuilt_from_the_log_answer_as_before(opened):
    _, http = opened
    expected = json.loads((FIXTURE / "answers.json").read_text())
    answers = json.loads(json.dumps(read_all(http)))
    assert sorted(answers) == sorted(expected)
    for path in expected:
        assert answers[path] == expected[path], path


def test_every_topic_the_old_code_could_write_resolves_to_a_class_of_that_name():
    for topic in (FIXTURE / "topics.txt").read_text().split():
        found = resolve_topic(topic)
        assert found.__qualname__ == topic.split(":", 1)[1], topic
