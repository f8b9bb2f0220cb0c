"""Scan-all (Harbor's `/system/scanAll`): its schedule and its runs, one stream for the system.

A run asks for a scan of every scannable artifact; the scans themselves are ordinary scan runs
(trigger `scan_all`, or `schedule` for a scheduled run) requested after the run's start
position, so its metrics are counts of those. `after` is the log position the run started
after: the scans it asked for come later.
"""

from domain.base import Actor, RegistryAggregate
from domain.errors import Conflict
from domain.gc_schedule import schedule_cron
from domain.names import stream_id

SCAN_ALL_ID = stream_id("scan-all", "system")
TRIGGERS = {"Manual": "scan_all", "Schedule": "schedule"}


class ScanAll(RegistryAggregate):
    class Opened(RegistryAggregate.Created):
        """Scan-all was used for the first time."""

    class ScheduleSet(RegistryAggregate.Event):
        """Scan-all runs on a schedule (Harbor's Hourly, Daily, Weekly, Custom)."""

        kind: str
        cron: str

        def apply(self, s: "ScanAll") -> None:
            s.kind, s.cron, s.schedule_updated = self.kind, self.cron, self.timestamp.isoformat()

    class ScheduleCleared(RegistryAggregate.Event):
        """Scheduled scan-all runs stop (type None)."""

        def apply(self, s: "ScanAll") -> None:
            s.kind, s.cron = "", ""

    class RunStarted(RegistryAggregate.Event):
        """A scan-all run started (trigger Manual or Schedule, `scheduled_for` its tick)."""

        run: int
        trigger: str
        after: int
        scheduled_for: str | None

        def apply(self, s: "ScanAll") -> None:
            s.runs[self.trigger] = {"run": self.run, "after": self.after, "status": "Running",
                                    "requested": 0, "started": self.timestamp.isoformat()}
            s.run, s.current = self.run, self.trigger
            if self.scheduled_for:
                s.last_tick = self.scheduled_for

    class RunExpanded(RegistryAggregate.Event):
        """Every scan of the run was asked for."""

        run: int
        trigger: str
        requested: int

        def apply(self, s: "ScanAll") -> None:
            s.runs[self.trigger] = {**s.runs[self.trigger], "requested": self.requested, "status": "Expanded"}

    class RunStopped(RegistryAggregate.Event):
        """Someone stopped the run: no more scans are asked for; those open are stopped."""

        run: int
        trigger: str

        def apply(self, s: "ScanAll") -> None:
            s.runs[self.trigger] = {**s.runs[self.trigger], "status": "Stopped"}

    def __init__(self) -> None:
        self.kind, self.cron, self.schedule_updated = "", "", ""
        self.runs: dict[str, dict] = {}
        self.run, self.current = 0, ""
        self.last_tick = ""

    @classmethod
    def open(cls) -> "ScanAll":
        return cls._create(cls.Opened, id=SCAN_ALL_ID, actor="system", client_ip="", request_id="")

    def set_schedule(self, kind: str, cron: str, actor: Actor) -> bool:
        if kind == "None":
            if not self.kind:
                return False
            self.trigger_event(self.ScheduleCleared, **actor.fields())
            return True
        cron = schedule_cron(kind, cron)
        if (self.kind, self.cron) == (kind, cron):
            return False
        self.trigger_event(self.ScheduleSet, kind=kind, cron=cron, **actor.fields())
        return True

    def running(self) -> dict | None:
        current = self.runs.get(self.current)
        return current if current is not None and current["status"] == "Running" else None

    def start(self, trigger: str, after: int, actor: Actor, scheduled_for: str | None = None) -> int:
        if self.running() is not None:
            raise Conflict("a scan-all run is still asking for its scans")
        if scheduled_for and scheduled_for == self.last_tick:
            raise Conflict("this scheduled run was started already", {"tick": scheduled_for})
        self.trigger_event(self.RunStarted, run=self.run + 1, trigger=trigger, after=after,
                           scheduled_for=scheduled_for, **actor.fields())
        return self.run

    def expanded(self, trigger: str, run: int, requested: int, actor: Actor) -> None:
        current = self.runs.get(trigger)
        if current is not None and current["run"] == run and current["status"] == "Running":
            self.trigger_event(self.RunExpanded, run=run, trigger=trigger, requested=requested, **actor.fields())

    def stop(self, actor: Actor) -> dict:
        current = self.runs.get(self.current)
        if current is None or current["status"] == "Stopped":
            raise Conflict("no scan-all run to stop")
        self.trigger_event(self.RunStopped, run=current["run"], trigger=self.current, **actor.fields())
        return self.runs[self.current]
