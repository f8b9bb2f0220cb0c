"""Closing a registry: every thread that uses the stores stops first, nothing touches a
closed connection, and nothing is left running."""

import sqlite3
import threading
import time

from litestar.testing import TestClient

from commands.artifacts.messages import CreateProject
from domain.base import SYSTEM
from infra.wiring.app import create_app
from infra.wiring.registry import build_registry
from infra.settings import Settings
from projections.projector import Projector


class BusyView:
    """A view whose batch is held open until the test lets it go."""

    name = "busy_view"
    tables = ()

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.errors: list[BaseException] = []

    def create(self, w) -> None:
        w.execute("CREATE TABLE IF NOT EXISTS busy_rows (position INTEGER PRIMARY KEY)")

    def apply(self, w, event, position) -> set:
        self.entered.set()
        self.release.wait(120)
        try:
            w.execute("INSERT INTO busy_rows VALUES (?) ON CONFLICT DO NOTHING", (position,))
        except BaseException as error:  # e.g. "Cannot operate on a closed database"
            self.errors.append(error)
            raise
        return set()


def test_close_while_a_follower_is_in_a_batch_waits_for_it_and_closes_cleanly(tmp_path):
    # given a running registry whose follower on the webhook database is in a batch
    registry = build_registry(Settings(data_dir=str(tmp_path / "data"), admin_password="Admin-Passw0rd"))
    view = BusyView()
    busy = Projector(registry.app, registry.webhook_db, view)
    registry.projectors.append(busy)
    registry.start(follow=True)
    view.release.clear()
    view.entered.clear()
    registry.commands.create_project(CreateProject("busy", True, SYSTEM))  # the follower's next batch
    assert view.entered.wait(60)
    closing = threading.Event()
    close_db = registry.webhook_db.close

    def spied_close() -> None:
        closing.set()
        close_db()
    registry.webhook_db.close = spied_close
    # when the registry is closed meanwhile; the batch goes on until close either asks the
    # follower to stop or closes the follower's database, whichever close does first
    closer = threading.Thread(target=registry.close)
    closer.start()
    for _ in range(6000):
        if closing.is_set() or busy._stop.is_set():
            break
        time.sleep(0.01)
    view.release.set()
    closer.join(120)
    # then close finished, the batch committed before its database closed, no follower is left
    assert not closer.is_alive()
    assert view.errors == []
    assert busy._thread is None or not busy._thread.is_alive()
    rows = sqlite3.connect(registry.settings.data_path / "webhooks.sqlite").execute(
        "SELECT COUNT(*) FROM busy_rows").fetchone()[0]
    assert rows == registry_head(tmp_path)


def registry_head(tmp_path) -> int:
    reopened = build_registry(Settings(data_dir=str(tmp_path / "data"), admin_password="Admin-Passw0rd"))
    try:
        return reopened.app.head()
    finally:
        reopened.close()


def _queue_listeners() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.is_alive() and "_monitor" in t.name]


def test_apps_built_and_closed_leave_no_logging_threads_behind(tmp_path):
    before = len(_queue_listeners())
    for index in range(3):
        settings = Settings(data_dir=str(tmp_path / f"data{index}"), admin_password="Admin-Passw0rd")
        registry = build_registry(settings)
        with TestClient(create_app(settings, registry), base_url="http://registry.test") as client:
            assert client.get("/api/v2.0/ping").text == "Pong"
        registry.close()
    assert len(_queue_listeners()) == before
