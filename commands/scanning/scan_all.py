"""Commands of scan-all: set its schedule, start a run (Manual or scheduled), expand a run into
one scan request per scannable artifact, stop it."""

import msgspec

from commands.application import RegistryApplication
from commands.artifacts.messages import Outcome
from commands.retries import retried
from domain.base import Actor
from domain.scanning.scan_all import SCAN_ALL_ID, ScanAll


class SetScanAllSchedule(msgspec.Struct, frozen=True):
    kind: str
    cron: str
    actor: Actor


class StartScanAll(msgspec.Struct, frozen=True):
    trigger: str  # Manual or Schedule
    actor: Actor
    scheduled_for: str | None = None


class ScanAllCommands:
    def __init__(self, app: RegistryApplication) -> None:
        self.app = app

    def current(self) -> ScanAll:
        found = self.app.find(SCAN_ALL_ID, ScanAll)
        return found if found is not None else ScanAll.open()

    def _save(self, scan_all: ScanAll) -> Outcome:
        recordings = self.app.save(scan_all)
        return Outcome(position=recordings[-1].notification.id if recordings else None)

    @retried
    def set_schedule(self, c: SetScanAllSchedule) -> Outcome:
        scan_all = self.current()
        if not scan_all.set_schedule(c.kind, c.cron, c.actor):
            return Outcome()
        return self._save(scan_all)

    @retried
    def start(self, c: StartScanAll) -> Outcome:
        scan_all = self.current()
        scan_all.start(c.trigger, self.app.head(), c.actor, c.scheduled_for)
        return self._save(scan_all)

    @retried
    def expanded(self, trigger: str, run: int, requested: int, actor: Actor) -> Outcome:
        scan_all = self.current()
        scan_all.expanded(trigger, run, requested, actor)
        return self._save(scan_all)

    @retried
    def stop(self, actor: Actor) -> tuple[dict, Outcome]:
        scan_all = self.current()
        run = scan_all.stop(actor)
        return run, self._save(scan_all)
