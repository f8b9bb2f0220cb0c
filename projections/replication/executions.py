"""Query model of replication executions and their tasks (domain/replication/execution.py):
what /replication/executions and its tasks and logs show, and the replication worker's queue
(executions still running). Counts are summed from the task rows when read."""

import json
from typing import Any

import msgspec

from domain.replication.execution import ReplicationExecution as E
from infra.store.sql import Database, Writer
from projections.times import stamp
from projections.view import View


class ExecutionRow(msgspec.Struct, frozen=True):
    execution_id: int
    execution_key: str
    policy_id: int
    policy_name: str
    trigger: str
    status: str
    status_text: str
    start_time: str
    end_time: str | None
    log_from: int
    log_to: int
    actor: str


class TaskRow(msgspec.Struct, frozen=True):
    task_id: int
    execution_id: int
    execution_key: str
    task_no: int
    status: str
    operation: str
    resource_type: str
    src_resource: str
    dst_resource: str
    start_time: str | None
    end_time: str | None
    attempts: int
    reason: str


EXECUTION_COLUMNS = ", ".join(ExecutionRow.__struct_fields__)
TASK_COLUMNS = ", ".join(TaskRow.__struct_fields__)


class ExecutionView(View):
    name = "replication_executions"
    tables = ("executions", "tasks")
    indexes = ("executions_key", "executions_policy", "executions_status", "tasks_execution")

    def __init__(self, prefix: str = "rpe_") -> None:
        super().__init__(prefix)
        self.handlers = {
            E.Started: self._started,
            E.TaskPlanned: self._planned,
            E.TaskStarted: self._task_started,
            E.TaskEnded: self._task_ended,
            E.StopRequested: self._stop_requested,
            E.Ended: self._ended,
        }

    def statements(self) -> list[str]:
        p = self.p
        return [
            f"""CREATE TABLE IF NOT EXISTS {p}executions (
                execution_id BIGINT PRIMARY KEY, execution_key TEXT NOT NULL, policy_id BIGINT NOT NULL,
                policy_name TEXT NOT NULL, trigger TEXT NOT NULL, status TEXT NOT NULL,
                status_text TEXT NOT NULL, start_time TEXT NOT NULL, end_time TEXT,
                log_from BIGINT NOT NULL, log_to BIGINT NOT NULL, actor TEXT NOT NULL)""",
            f"CREATE UNIQUE INDEX IF NOT EXISTS {p}executions_key ON {p}executions (execution_key)",
            f"CREATE INDEX IF NOT EXISTS {p}executions_policy ON {p}executions (policy_id, execution_id)",
            f"CREATE INDEX IF NOT EXISTS {p}executions_status ON {p}executions (status)",
            f"""CREATE TABLE IF NOT EXISTS {p}tasks (
                task_id BIGINT PRIMARY KEY, execution_id BIGINT NOT NULL, execution_key TEXT NOT NULL,
                task_no INTEGER NOT NULL, status TEXT NOT NULL, operation TEXT NOT NULL,
                resource_type TEXT NOT NULL, src_resource TEXT NOT NULL, dst_resource TEXT NOT NULL,
                start_time TEXT, end_time TEXT, attempts INTEGER NOT NULL, reason TEXT NOT NULL,
                log TEXT NOT NULL)""",
            f"CREATE UNIQUE INDEX IF NOT EXISTS {p}tasks_execution ON {p}tasks (execution_key, task_no)",
        ]

    def _started(self, w: Writer, e: Any, pos: int) -> set:
        key = str(e.originator_id)
        w.execute(f"DELETE FROM {self.p}executions WHERE execution_key = ?", (key,))
        w.execute(f"INSERT INTO {self.p}executions ({EXECUTION_COLUMNS}) VALUES ({', '.join('?' * 12)})",
                  (pos, key, e.policy_id, e.policy_name, e.trigger, "Running", "", stamp(e.timestamp), None,
                   e.log_from, e.log_to, e.actor))
        return set()

    def _execution_id(self, w: Writer, key: str) -> int:
        rows = w.execute(f"SELECT execution_id FROM {self.p}executions WHERE execution_key = ?", (key,))
        return rows[0][0] if rows else 0

    def _planned(self, w: Writer, e: Any, pos: int) -> set:
        key = str(e.originator_id)
        w.execute(f"INSERT INTO {self.p}tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                  "ON CONFLICT DO NOTHING",
                  (pos, self._execution_id(w, key), key, e.task_no, "Pending", e.operation, e.resource_type,
                   e.src_resource, e.dst_resource, None, None, 0, "", "[]"))
        return set()

    def _task_started(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}tasks SET status = 'Running', start_time = ? WHERE execution_key = ? "
                  "AND task_no = ?", (stamp(e.timestamp), str(e.originator_id), e.task_no))
        return set()

    def _task_ended(self, w: Writer, e: Any, pos: int) -> set:
        when = stamp(e.timestamp)
        w.execute(f"UPDATE {self.p}tasks SET status = ?, end_time = ?, start_time = COALESCE(start_time, ?), "
                  "attempts = ?, reason = ?, log = ? WHERE execution_key = ? AND task_no = ?",
                  (e.status, when, when, e.attempts, e.reason, json.dumps(e.log), str(e.originator_id),
                   e.task_no))
        return set()

    def _stop_requested(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}tasks SET status = 'Stopped', end_time = ? WHERE execution_key = ? "
                  "AND status = 'Pending'", (stamp(e.timestamp), str(e.originator_id)))
        return set()

    def _ended(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}executions SET status = ?, status_text = ?, end_time = ? "
                  "WHERE execution_key = ?", (e.status, e.status_text, stamp(e.timestamp), str(e.originator_id)))
        return set()


class Executions:
    """Reads over the execution view."""

    def __init__(self, db: Database, prefix: str = "rpe_") -> None:
        self.db = db
        self.p = prefix

    def _executions(self, where: str, params: list) -> list[ExecutionRow]:
        return [ExecutionRow(*r) for r in self.db.read(
            f"SELECT {EXECUTION_COLUMNS} FROM {self.p}executions WHERE {where}", params)]

    def get(self, execution_id: int) -> ExecutionRow | None:
        rows = self._executions("execution_id = ?", [execution_id])
        return rows[0] if rows else None

    def by_key(self, key: str) -> ExecutionRow | None:
        rows = self._executions("execution_key = ?", [key])
        return rows[0] if rows else None

    def page(self, policy_id: int | None, status: str | None, trigger: str | None, offset: int,
             limit: int) -> tuple[list[ExecutionRow], int]:
        where, params = ["1 = 1"], []
        for column, value in (("policy_id", policy_id), ("status", status), ("trigger", trigger)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        condition = " AND ".join(where)
        total = self.db.read(f"SELECT COUNT(*) FROM {self.p}executions WHERE {condition}", params)[0][0]
        rows = self._executions(f"{condition} ORDER BY execution_id DESC LIMIT ? OFFSET ?",
                                [*params, limit, offset])
        return rows, total

    def running(self, limit: int = 200) -> list[ExecutionRow]:
        return self._executions("status = 'Running' ORDER BY execution_id LIMIT ?", [limit])

    def active_count(self, policy_id: int) -> int:
        return self.db.read(f"SELECT COUNT(*) FROM {self.p}executions WHERE policy_id = ? AND status = 'Running'",
                            [policy_id])[0][0]

    def after_log(self, policy_id: int, log_from: int) -> ExecutionRow | None:
        """The event-based execution of the policy that covers the log from `log_from`."""
        rows = self._executions("policy_id = ? AND trigger = 'event_based' AND log_from = ? "
                                "ORDER BY execution_id DESC LIMIT 1", [policy_id, log_from])
        return rows[0] if rows else None

    def last_scheduled(self, policy_id: int) -> str | None:
        rows = self.db.read(f"SELECT MAX(start_time) FROM {self.p}executions WHERE policy_id = ? "
                            "AND trigger = 'scheduled'", [policy_id])
        return rows[0][0] if rows else None

    def counts(self, keys: list[str]) -> dict[str, dict]:
        """execution key -> Harbor's counts of its tasks."""
        if not keys:
            return {}
        marks = ", ".join("?" * len(keys))
        result = {k: {"total": 0, "failed": 0, "succeed": 0, "in_progress": 0, "stopped": 0} for k in keys}
        for key, status, count in self.db.read(
                f"SELECT execution_key, status, COUNT(*) FROM {self.p}tasks WHERE execution_key IN ({marks}) "
                "GROUP BY execution_key, status", keys):
            c = result[key]
            c["total"] += count
            field = {"Error": "failed", "Success": "succeed", "Stopped": "stopped"}.get(status, "in_progress")
            c[field] += count
        return result

    def tasks(self, key: str, status: str | None, resource_type: str | None, offset: int,
              limit: int) -> tuple[list[TaskRow], int]:
        where, params = ["execution_key = ?"], [key]
        for column, value in (("status", status), ("resource_type", resource_type)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        condition = " AND ".join(where)
        total = self.db.read(f"SELECT COUNT(*) FROM {self.p}tasks WHERE {condition}", params)[0][0]
        rows = self.db.read(f"SELECT {TASK_COLUMNS} FROM {self.p}tasks WHERE {condition} ORDER BY task_no "
                            "LIMIT ? OFFSET ?", [*params, limit, offset])
        return [TaskRow(*r) for r in rows], total

    def task(self, key: str, task_id: int) -> tuple[TaskRow, list[str]] | None:
        rows = self.db.read(f"SELECT {TASK_COLUMNS}, log FROM {self.p}tasks WHERE execution_key = ? AND "
                            "task_id = ?", [key, task_id])
        if not rows:
            return None
        return TaskRow(*rows[0][:-1]), json.loads(rows[0][-1])
