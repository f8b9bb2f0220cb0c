"""An event log written by the code before the layout change still loads and replays.

The fixture (tests/fixtures/log_2026_12, see its README) was made with main at 4ad752b,
when events were stored under topics like `domain.tag:Tag.Created`. Today's code opens it,
rebuilds every query model from the log and must answer the same reads. On PostgreSQL the
same stored events (topics and states as written) are copied into a fresh event store in
log order first, so their positions are the same.
"""

import json
import shutil
import sqlite3
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic
from litestar.testing import TestClient

from infra.auth.credentials import TABLE as CREDENTIALS
from infra.settings import Settings
from infra.wiring.app import create_app
from infra.wiring.registry import build_registry
from tests.fixtures.log_2026_12.make import STORES
from tests.fixtures.log_2026_12.reads import ADMIN_PASSWORD, read_all
from tests.integration.conftest import _reset_postgres, basic

FIXTURE = Path(__file__).parent.parent / "fixtures" / "log_2026_12"
LOGS = {"events.sqlite": "app", "webhook_deliveries.sqlite": "webhook_log"}  # store -> registry part


def _stored(name: str) -> list[StoredEvent]:
    with sqlite3.connect(FIXTURE / name) as db:
        rows = db.execute("SELECT originator_id, originator_version, topic, state "
                          "FROM stored_events ORDER BY rowid").fetchall()
    return [StoredEvent(originator_id=UUID(o), originator_version=v, topic=t,
                        state=bytes(s)) for o, v, t, s in rows]


def _credentials() -> list[tuple]:
    return [tuple(row) for row in json.loads((FIXTURE / "credentials.json").read_text())]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def opened(request, tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    values = {"data_dir": str(data), "external_url": "http://registry.test",
              "admin_password": ADMIN_PASSWORD}
    if request.param == "sqlite":
        for name in STORES:
            shutil.copy(FIXTURE / name, data / name)
        with sqlite3.connect(data / "views.sqlite") as views:  # the hashes only: no query model yet
            views.execute(CREDENTIALS)
            views.executemany("INSERT INTO credentials VALUES (?, ?, ?)", _credentials())
        settings = Settings(**values)
        registry = build_registry(settings)
    else:
        url = request.getfixturevalue("postgres_url")
        _reset_postgres(url)
        settings = Settings(**values, database_url=url)
        registry = build_registry(settings)
        for name, part in LOGS.items():
            getattr(registry, part).recorder.insert_events(_stored(name))
        with registry.db.write() as w:
            w.execute(CREDENTIALS)
            for row in _credentials():
                w.execute("INSERT INTO credentials VALUES (?, ?, ?)", row)
    try:
        with TestClient(create_app(settings, registry), base_url="http://registry.test") as http:
            http.headers["authorization"] = basic("admin", ADMIN_PASSWORD)
            yield registry, http
    finally:
        registry.close()


def test_every_stored_event_loads_as_a_domain_event(opened):
    registry, _ = opened
    for name, part in LOGS.items():
        app = getattr(registry, part)
        stored = app.recorder.select_notifications(start=1, limit=100_000)
        assert len(stored) == len(_stored(name))
        for notification in stored:
            event = app.mapper.to_domain_event(notification)
            assert type(event).__qualname__ == notification.topic.split(":", 1)[1]


def _as_before(answer, before) -> bool:
    """The answer says all it said before, the same way; an object may have gained fields
    (an API that grows a field, like Harbor's artifact `icon`, still answers as before)."""
    if isinstance(before, dict):
        return isinstance(answer, dict) and all(k in answer and _as_before(answer[k], v)
                                                for k, v in before.items())
    if isinstance(before, list):
        return isinstance(answer, list) and len(answer) == len(before) and \
            all(_as_before(a, b) for a, b in zip(answer, before))
    return answer == before


def test_the_query_models_rebuilt_from_the_log_answer_as_before(opened):
    _, http = opened
    expected = json.loads((FIXTURE / "answers.json").read_text())
    answers = json.loads(json.dumps(read_all(http)))
    assert sorted(answers) == sorted(expected)
    for path in expected:
        recorded = _as_recorded(answers[path], expected[path])
        assert _as_before(recorded, expected[path]), (path, recorded, expected[path])


# Fields projects gained after the fixture was made (ADR 0026): `cve_allowlist` is new, and
# `update_time` now follows the last change of the project's settings, not its creation.
_PROJECT_CHANGES = {"cve_allowlist", "update_time"}


def _as_recorded(answer, recorded):
    """A project answer with what projects gained since, taken back to the recorded fields."""
    def project(body, old):
        if not (isinstance(body, dict) and isinstance(old, dict) and "project_id" in old and "repo_count" in old):
            return body
        assert body["update_time"] >= old["update_time"]
        return {**{k: v for k, v in body.items() if k not in _PROJECT_CHANGES}, "update_time": old["update_time"]}
    def artifact(body, old):
        """ADR 0025: `labels` is null unless asked for (`with_label`), and `pull_time` shows the
        recorded last pull where the old code always answered Harbor's zero time."""
        if not (isinstance(body, dict) and isinstance(old, dict) and "manifest_media_type" in old):
            return body
        body = dict(body)
        if body.get("labels") is None and isinstance(old.get("labels"), list):
            body["labels"] = old["labels"]
        if old.get("pull_time") == ZERO_TIME and body.get("pull_time", "") >= old["push_time"]:
            body["pull_time"] = ZERO_TIME
        return body

    def both(body, old):
        return artifact(project(body, old), old)
    body, old = answer.get("body"), recorded.get("body")
    if isinstance(body, list) and isinstance(old, list) and len(body) == len(old):
        return {**answer, "body": [both(b, o) for b, o in zip(body, old)]}
    return {**answer, "body": both(body, old)}


ZERO_TIME = "0001-01-01T00:00:00.000Z"


def test_every_topic_the_old_code_could_write_resolves_to_a_class_of_that_name():
    for topic in (FIXTURE / "topics.txt").read_text().split():
        found = resolve_topic(topic)
        assert found.__qualname__ == topic.split(":", 1)[1], topic
