"""Pausing and resuming every schedule (Harbor's scheduler queue)."""

import msgspec

from commands.artifacts.messages import Outcome
from commands.retries import retried
from domain.base import Actor
from domain.schedule_pause import PAUSE_ID, SchedulePause


class PauseSchedules(msgspec.Struct, frozen=True):
    paused: bool  # False: resume
    actor: Actor


class SchedulePauseCommands:
    def __init__(self, app) -> None:
        self.app = app

    @retried
    def set_paused(self, c: PauseSchedules) -> Outcome:
        """Record the pause or resume; nothing when it is already so."""
        pause = self.app.find(PAUSE_ID, SchedulePause)
        if pause is None:
            if not c.paused:
                return Outcome()  # never paused: nothing to resume
            pause = SchedulePause.pause_first(c.actor)
        elif not pause.set_paused(c.paused, c.actor):
            return Outcome()
        recordings = self.app.save(pause)
        return Outcome(position=recordings[-1].notification.id if recordings else None)
