"""Whether scheduled runs are paused, as the schedulers and `/schedules/.../paused` read it."""

from typing import Any

from domain.schedule_pause import SchedulePause
from infra.store.sql import Writer
from projections.times import stamp


class SchedulePauseView:
    name = "schedule_pause"
    handlers = (SchedulePause.Paused, SchedulePause.PausedAgain, SchedulePause.Resumed)

    def __init__(self, prefix: str = "") -> None:
        self.p = prefix

    def create(self, w: Writer) -> None:
        w.execute(f"""CREATE TABLE IF NOT EXISTS {self.p}schedule_pause (
            id INTEGER PRIMARY KEY, paused INTEGER NOT NULL, updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL)""")

    def drop(self, w: Writer) -> None:
        w.execute(f"DROP TABLE IF EXISTS {self.p}schedule_pause")

    def drop_indexes(self, w: Writer) -> None:
        pass

    def apply(self, w: Writer, e: Any, position: int) -> set:
        if isinstance(e, self.handlers):
            paused = int(not isinstance(e, SchedulePause.Resumed))
            w.execute(f"INSERT INTO {self.p}schedule_pause VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE "
                      "SET paused = excluded.paused, updated_at = excluded.updated_at, "
                      "updated_by = excluded.updated_by", (paused, stamp(e.timestamp), e.actor))
        return set()


class SchedulePauseQueries:
    def __init__(self, db, prefix: str = "") -> None:
        self.db = db
        self.p = prefix

    def paused(self) -> bool:
        rows = self.db.read(f"SELECT paused FROM {self.p}schedule_pause WHERE id = 1")
        return bool(rows and rows[0][0])
