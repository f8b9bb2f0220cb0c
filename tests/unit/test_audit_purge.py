"""Audit log rotation: purge runs and their schedule, on the in-memory event store."""

from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from commands.application import RegistryApplication
from commands.audit_purge_handlers import (AuditPurgeCommands, FinishAuditPurge, PurgeParameters,
                                           SetAuditPurgeSchedule, StartAuditPurge, StopAuditPurge)
from domain.audit_purge import SCHEDULE_ID, AuditPurge, AuditPurgeSchedule
from domain.base import Actor
from domain.errors import BadRequest, NotFound

ALICE = Actor(name="alice")
WEEK = PurgeParameters(168, ["create_artifact", "pull_artifact"], False)


@pytest.fixture
def app():
    return RegistryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


@pytest.fixture
def commands(app):
    return AuditPurgeCommands(app)


def test_a_finished_run_carries_what_the_audit_view_must_trim(app, commands):
    run_id = commands.start(StartAuditPurge(WEEK, ALICE))
    outcome = commands.finish(FinishAuditPurge(run_id, "2026-01-01T00:00:00.000000Z", 42, 7, ALICE))
    assert outcome.position is not None
    run = app.find(UUID(run_id), AuditPurge)
    assert run.status == "Success"
    last = list(app.recorder.select_notifications(start=1, limit=10))[-1]
    event = app.mapper.to_domain_event(last)
    assert isinstance(event, AuditPurge.Finished)
    assert (event.cutoff, event.until, event.rows, event.event_types, event.dry_run) == (
        "2026-01-01T00:00:00.000000Z", 42, 7, ["create_artifact", "pull_artifact"], False)


def test_a_stopped_run_never_finishes_and_stopping_an_ended_run_records_nothing(app, commands):
    run_id = commands.start(StartAuditPurge(WEEK, ALICE))
    assert commands.stop(StopAuditPurge(run_id, ALICE)).position is not None
    assert commands.finish(FinishAuditPurge(run_id, "2026-01-01T00:00:00Z", 1, 1, ALICE)).position is None
    assert commands.stop(StopAuditPurge(run_id, ALICE)).position is None
    assert app.find(UUID(run_id), AuditPurge).status == "Stopped"
    with pytest.raises(NotFound):
        commands.stop(StopAuditPurge("00000000-0000-0000-0000-000000000001", ALICE))


def test_one_scheduled_tick_starts_one_run(commands):
    commands.start(StartAuditPurge(WEEK, ALICE, scheduled_for="2026-12-02T00:00:00+00:00"))
    with pytest.raises(IntegrityError):
        commands.start(StartAuditPurge(WEEK, ALICE, scheduled_for="2026-12-02T00:00:00+00:00"))


def test_the_schedule_records_changes_only(app, commands):
    set_daily = SetAuditPurgeSchedule("Daily", "", WEEK, ALICE)
    assert commands.set_schedule(set_daily).position is not None
    assert commands.set_schedule(set_daily).position is None  # the same again: nothing
    shorter = PurgeParameters(24, ["create"], True)
    assert commands.set_schedule(SetAuditPurgeSchedule("Daily", "", shorter, ALICE)).position is not None
    schedule = app.find(SCHEDULE_ID, AuditPurgeSchedule)
    assert schedule.settings == ("Daily", "0 0 0 * * *", 24, ["create"], True)
    assert commands.set_schedule(SetAuditPurgeSchedule("None", "", shorter, ALICE)).position is not None
    assert commands.set_schedule(SetAuditPurgeSchedule("None", "", shorter, ALICE)).position is None
    assert not app.find(SCHEDULE_ID, AuditPurgeSchedule).active


def test_a_bad_cron_is_refused_naming_the_field(commands):
    with pytest.raises(BadRequest) as refused:
        commands.set_schedule(SetAuditPurgeSchedule("Custom", "every tuesday", WEEK, ALICE))
    assert "schedule.cron" in str(refused.value)
