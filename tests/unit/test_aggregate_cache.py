"""The aggregate cache without fast-forwarding (the embedded default) follows the log in
any interleaving of loads and saves, and heals itself after a conflict."""

import pytest
from eventsourcing.persistence import IntegrityError

from commands.application import RegistryApplication
from commands.iam.handlers import IamCommands
from commands.iam.messages import CreateUser, SetUserEnabled
from domain.base import Actor
from domain.errors import WriteContended
from domain.iam.user import User, user_id

ADMIN = Actor(name="admin")


class NoCredentials:
    def set(self, *args) -> None:
        pass


@pytest.fixture
def app():
    return RegistryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo",
                                    "AGGREGATE_CACHE_MAXSIZE": "100",
                                    "AGGREGATE_CACHE_FASTFORWARD": "n"})


@pytest.fixture
def iam(app):
    commands = IamCommands(app, NoCredentials())
    commands.create_user(CreateUser("ann", "ann@example.com", "", "", "Ann-Passw0rd", False, ADMIN))
    return commands


def test_a_slow_load_never_puts_an_older_version_over_a_newer_save(app, iam):
    stale = app.repository.get(user_id("ann"))  # a load that read the log before the save
    iam.set_user_enabled(SetUserEnabled("ann", False, ADMIN))
    app.repository.cache.put(stale.id, stale)  # ...and puts what it read only now
    user = app.find(user_id("ann"), User)
    assert user.version == stale.version + 1 and not user.enabled


def test_the_next_command_after_a_stale_load_is_applied(app, iam):
    stale = app.repository.get(user_id("ann"))
    iam.set_user_enabled(SetUserEnabled("ann", False, ADMIN))
    app.repository.cache.put(stale.id, stale)
    iam.set_user_enabled(SetUserEnabled("ann", True, ADMIN))  # a no-op on the stale copy
    assert app.find(user_id("ann"), User).enabled


def test_a_conflicting_save_brings_a_stale_cached_aggregate_up_to_the_log(app, iam):
    stale = app.repository.get(user_id("ann"))
    writer = app.repository.get(user_id("ann"))
    writer.set_enabled(False, ADMIN)
    app.events.put(writer.collect_events())  # as another process would: the cache never saw it
    assert app.find(user_id("ann"), User).enabled  # stale
    stale.update_profile("ann@new.example.com", "", "", ADMIN)
    with pytest.raises(IntegrityError):
        app.save(stale)
    user = app.find(user_id("ann"), User)  # the retry's load
    assert not user.enabled and user.version == stale.version


def test_conflicts_past_every_retry_are_write_contended_and_save_nothing(app, iam, monkeypatch):
    def always_conflicts(*args, **kwargs):
        raise IntegrityError("UNIQUE constraint failed")
    monkeypatch.setattr("commands.retries.time.sleep", lambda seconds: None)
    monkeypatch.setattr(app.events, "put", always_conflicts)
    head = app.recorder.max_notification_id()
    with pytest.raises(WriteContended) as refused:
        iam.set_user_enabled(SetUserEnabled("ann", False, ADMIN))
    assert refused.value.retry_after == 1
    assert app.recorder.max_notification_id() == head
