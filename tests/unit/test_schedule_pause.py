"""Pausing every schedule is an event, and so is resuming; asking for what is already so
records nothing."""

import pytest

from commands.application import RegistryApplication
from commands.schedule_pause_handlers import PauseSchedules, SchedulePauseCommands
from domain.base import Actor
from domain.schedule_pause import PAUSE_ID, SchedulePause

ADMIN = Actor(name="admin", client_ip="10.0.0.1", request_id="r1")


@pytest.fixture
def commands():
    return SchedulePauseCommands(RegistryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}))


def test_pause_resume_and_pause_again_are_events(commands):
    assert commands.set_paused(PauseSchedules(False, ADMIN)).position is None  # never paused
    assert commands.set_paused(PauseSchedules(True, ADMIN)).position is not None
    assert commands.set_paused(PauseSchedules(True, ADMIN)).position is None  # already paused
    assert commands.set_paused(PauseSchedules(False, ADMIN)).position is not None
    assert commands.set_paused(PauseSchedules(True, ADMIN)).position is not None
    pause = commands.app.repository.get(PAUSE_ID)
    assert pause.paused is True and pause.version == 3


def test_a_resumed_pause_reads_as_resumed():
    pause = SchedulePause.pause_first(ADMIN)
    assert pause.set_paused(False, ADMIN) is True and pause.paused is False
    assert [type(e).__name__ for e in pause.collect_events()] == ["Paused", "Resumed"]
