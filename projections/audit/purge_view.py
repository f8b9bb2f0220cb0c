"""Audit log rotation: the history of purge runs and the schedule (Harbor's ExecHistory)."""

import json
from typing import Any

from domain.audit_purge import AuditPurge, AuditPurgeSchedule
from domain.input_limits import parse_natural
from infra.store.sql import Writer
from projections.times import stamp


def parameters_json(retention_hours: int, event_types: list[str], dry_run: bool) -> str:
    """Harbor's job_parameters text for a purge."""
    return json.dumps({"audit_retention_hour": retention_hours,
                       "include_event_types": ",".join(event_types), "dry_run": bool(dry_run)})


class PurgeView:
    name = "audit_purge"
    tables = ("purge_runs", "purge_schedule")
    handlers = (AuditPurge.Started, AuditPurge.Finished, AuditPurge.Failed, AuditPurge.Stopped,
                AuditPurgeSchedule.Set, AuditPurgeSchedule.Changed, AuditPurgeSchedule.Cleared)

    def __init__(self, prefix: str = "purge_") -> None:
        self.p = prefix

    def create(self, w: Writer) -> None:
        w.execute(f"""CREATE TABLE IF NOT EXISTS {self.p}purge_runs (
            id BIGINT PRIMARY KEY, run TEXT NOT NULL UNIQUE, trigger_kind TEXT NOT NULL,
            scheduled_for TEXT, parameters TEXT NOT NULL, status TEXT NOT NULL,
            purged BIGINT NOT NULL, cutoff TEXT NOT NULL, reason TEXT NOT NULL,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""")
        w.execute(f"""CREATE TABLE IF NOT EXISTS {self.p}purge_schedule (
            id INTEGER PRIMARY KEY, kind TEXT NOT NULL, cron TEXT NOT NULL, parameters TEXT NOT NULL,
            active INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""")

    def drop(self, w: Writer) -> None:
        for table in self.tables:
            w.execute(f"DROP TABLE IF EXISTS {self.p}{table}")

    def drop_indexes(self, w: Writer) -> None:
        pass

    def apply(self, w: Writer, e: Any, position: int) -> set:
        run, when = str(e.originator_id), stamp(e.timestamp)
        if isinstance(e, AuditPurge.Started):
            w.execute(f"INSERT INTO {self.p}purge_runs VALUES (?, ?, ?, ?, ?, 'Running', 0, '', '', ?, ?) "
                      "ON CONFLICT DO NOTHING",
                      (position, run, e.trigger, e.scheduled_for,
                       parameters_json(e.retention_hours, e.event_types, e.dry_run), when, when))
        elif isinstance(e, AuditPurge.Finished):
            w.execute(f"UPDATE {self.p}purge_runs SET status = 'Success', purged = ?, cutoff = ?, "
                      "updated_at = ? WHERE run = ?", (e.rows, e.cutoff, when, run))
        elif isinstance(e, AuditPurge.Stopped):
            w.execute(f"UPDATE {self.p}purge_runs SET status = 'Stopped', reason = ?, updated_at = ? "
                      "WHERE run = ?", (f"stopped on request of {e.requested_by}", when, run))
        elif isinstance(e, AuditPurge.Failed):
            w.execute(f"UPDATE {self.p}purge_runs SET status = 'Error', reason = ?, updated_at = ? "
                      "WHERE run = ?", (e.reason, when, run))
        elif isinstance(e, (AuditPurgeSchedule.Set, AuditPurgeSchedule.Changed)):
            w.execute(f"INSERT INTO {self.p}purge_schedule VALUES (1, ?, ?, ?, 1, ?, ?) ON CONFLICT (id) "
                      "DO UPDATE SET kind = excluded.kind, cron = excluded.cron, "
                      "parameters = excluded.parameters, active = 1, updated_at = excluded.updated_at",
                      (e.kind, e.cron, parameters_json(e.retention_hours, e.event_types, e.dry_run),
                       when, when))
        elif isinstance(e, AuditPurgeSchedule.Cleared):
            w.execute(f"UPDATE {self.p}purge_schedule SET active = 0, updated_at = ? WHERE id = 1", (when,))
        return set()


class PurgeQueries:
    COLUMNS = ("id, run, trigger_kind, scheduled_for, parameters, status, purged, cutoff, reason, "
               "created_at, updated_at")

    def __init__(self, db, prefix: str = "purge_") -> None:
        self.db = db
        self.p = prefix

    def runs(self, offset: int, limit: int) -> tuple[list[tuple], int]:
        """A page of runs, newest first, and how many there are."""
        total = self.db.read(f"SELECT COUNT(*) FROM {self.p}purge_runs")[0][0]
        rows = self.db.read(f"SELECT {self.COLUMNS} FROM {self.p}purge_runs ORDER BY id DESC LIMIT ? OFFSET ?",
                            (limit, offset))
        return rows, total

    def run(self, purge_id: int) -> tuple | None:
        rows = self.db.read(f"SELECT {self.COLUMNS} FROM {self.p}purge_runs WHERE id = ?",
                            (parse_natural(str(purge_id), "purge_id"),))
        return rows[0] if rows else None

    def schedule(self) -> tuple | None:
        """(kind, cron, parameters, created_at, updated_at) while a schedule is set."""
        rows = self.db.read(f"SELECT kind, cron, parameters, created_at, updated_at "
                            f"FROM {self.p}purge_schedule WHERE id = 1 AND active = 1")
        return rows[0] if rows else None

    def last_scheduled(self) -> str | None:
        """The cron tick of the latest scheduled run."""
        return self.db.read(f"SELECT MAX(scheduled_for) FROM {self.p}purge_runs "
                            "WHERE trigger_kind = 'SCHEDULE'")[0][0]

    def unfinished(self) -> list[str]:
        return [row[0] for row in self.db.read(f"SELECT run FROM {self.p}purge_runs WHERE status = 'Running'")]

    def position_of(self, run: str) -> int | None:
        """A run's id (the log position of its start) from its stream id."""
        rows = self.db.read(f"SELECT id FROM {self.p}purge_runs WHERE run = ?", (run,))
        return rows[0][0] if rows else None
