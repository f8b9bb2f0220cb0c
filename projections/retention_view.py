"""Query model of tag retention: policies (and every version of them), runs and their tasks.

Ids are log positions: a policy's is the event that bound it to its project, an
execution's its `Started` event, a task's its `TaskRecorded` event.
"""

import json
from typing import Any

import msgspec

from domain.project import Project
from domain.retention.policy import RetentionPolicy
from domain.retention.run import RetentionRun
from infra.store.sql import Writer
from projections.times import stamp
from projections.view import View


class PolicyRow(msgspec.Struct, frozen=True):
    id: int
    project: str
    project_id: int
    version: int
    policy: dict
    created_at: str
    updated_at: str
    last_scheduled: str | None


class RunRow(msgspec.Struct, frozen=True):
    id: int
    run: str
    policy_id: int
    project: str
    dry_run: bool
    trigger: str
    status: str
    policy_version: int
    at_position: int | None
    start_time: str
    end_time: str | None
    total: int
    retained: int
    deleted: int
    reason: str


class TaskRow(msgspec.Struct, frozen=True):
    id: int
    execution_id: int
    repository: str
    status: str
    total: int
    retained: int
    deleted: int
    skipped: int
    start_time: str
    end_time: str
    items: list


class RetentionView(View):
    name = "retention"
    tables = ("policies", "policy_versions", "runs", "tasks")
    indexes = ("runs_policy", "tasks_execution")

    def __init__(self, prefix: str = "retention_") -> None:
        super().__init__(prefix)
        self.handlers = {
            RetentionPolicy.Created: self._bound, RetentionPolicy.Recreated: self._bound,
            RetentionPolicy.Updated: self._updated, RetentionPolicy.Deleted: self._deleted,
            RetentionRun.Started: self._started, RetentionRun.TaskRecorded: self._task,
            RetentionRun.Finished: self._ended, RetentionRun.Failed: self._ended,
            Project.Deleted: self._project_deleted,
        }

    def statements(self) -> list[str]:
        p = self.p
        return [f"""CREATE TABLE IF NOT EXISTS {p}policies (
            id BIGINT PRIMARY KEY, project TEXT NOT NULL, project_id BIGINT NOT NULL, version INTEGER NOT NULL,
            policy TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, last_scheduled TEXT)""",
                f"""CREATE TABLE IF NOT EXISTS {p}policy_versions (
            policy_id BIGINT NOT NULL, version INTEGER NOT NULL, policy TEXT NOT NULL, at TEXT NOT NULL,
            actor TEXT NOT NULL, PRIMARY KEY (policy_id, version))""",
                f"""CREATE TABLE IF NOT EXISTS {p}runs (
            id BIGINT PRIMARY KEY, run TEXT NOT NULL UNIQUE, policy_id BIGINT NOT NULL, project TEXT NOT NULL,
            dry_run INTEGER NOT NULL, trigger TEXT NOT NULL, status TEXT NOT NULL, policy_version INTEGER NOT NULL,
            at_position BIGINT, start_time TEXT NOT NULL, end_time TEXT, total BIGINT NOT NULL,
            retained BIGINT NOT NULL, deleted BIGINT NOT NULL, reason TEXT NOT NULL)""",
                f"CREATE INDEX IF NOT EXISTS {p}runs_policy ON {p}runs (policy_id, id)",
                f"""CREATE TABLE IF NOT EXISTS {p}tasks (
            id BIGINT PRIMARY KEY, execution_id BIGINT NOT NULL, repository TEXT NOT NULL,
            status TEXT NOT NULL, total BIGINT NOT NULL, retained BIGINT NOT NULL, deleted BIGINT NOT NULL,
            skipped BIGINT NOT NULL, start_time TEXT NOT NULL, end_time TEXT NOT NULL, items TEXT NOT NULL)""",
                f"CREATE INDEX IF NOT EXISTS {p}tasks_execution ON {p}tasks (execution_id, id)"]

    def _version(self, w: Writer, policy_id: int, e: Any) -> None:
        w.execute(f"INSERT INTO {self.p}policy_versions VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                  (policy_id, e.policy_version, json.dumps(e.policy), stamp(e.timestamp), e.actor))

    def _bound(self, w: Writer, e: Any, pos: int) -> set:
        when = stamp(e.timestamp)
        w.execute(f"DELETE FROM {self.p}policies WHERE project = ?", (e.project,))
        w.execute(f"INSERT INTO {self.p}policies VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT DO NOTHING",
                  (pos, e.project, e.project_id, e.policy_version, json.dumps(e.policy), when, when))
        self._version(w, pos, e)
        return set()

    def _updated(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}policies SET version = ?, policy = ?, updated_at = ? WHERE project = ?",
                  (e.policy_version, json.dumps(e.policy), stamp(e.timestamp), e.project))
        rows = w.execute(f"SELECT id FROM {self.p}policies WHERE project = ?", (e.project,))
        if rows:
            self._version(w, rows[0][0], e)
        return set()

    def _deleted(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"DELETE FROM {self.p}policies WHERE project = ?", (e.project,))
        return set()

    def _project_deleted(self, w: Writer, e: Any, pos: int) -> set:
        """A deleted project's policy stops (its runs stay, readable by their ids)."""
        w.execute(f"DELETE FROM {self.p}policies WHERE project = ?", (e.name,))
        return set()

    def _started(self, w: Writer, e: Any, pos: int) -> set:
        when = stamp(e.timestamp)
        w.execute(f"INSERT INTO {self.p}runs VALUES (?, ?, ?, ?, ?, ?, 'Running', ?, ?, ?, NULL, 0, 0, 0, '') "
                  "ON CONFLICT DO NOTHING", (pos, str(e.originator_id), e.policy_id, e.project, int(e.dry_run),
                                             e.trigger, e.policy_version, e.at_position, when))
        if e.scheduled_for:
            w.execute(f"UPDATE {self.p}policies SET last_scheduled = ? WHERE id = ? AND "
                      "(last_scheduled IS NULL OR last_scheduled < ?)", (e.scheduled_for, e.policy_id, e.scheduled_for))
        return set()

    def _task(self, w: Writer, e: Any, pos: int) -> set:
        run = str(e.originator_id)
        rows = w.execute(f"SELECT id FROM {self.p}runs WHERE run = ?", (run,))
        if not rows:
            return set()
        w.execute(f"INSERT INTO {self.p}tasks VALUES (?, ?, ?, 'Success', ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                  (pos, rows[0][0], e.repository, e.total, e.retained, e.deleted, e.skipped, e.started_at,
                   stamp(e.timestamp), json.dumps(e.items)))
        w.execute(f"UPDATE {self.p}runs SET total = total + ?, retained = retained + ?, deleted = deleted + ? "
                  "WHERE run = ?", (e.total, e.retained, e.deleted, run))
        return set()

    def _ended(self, w: Writer, e: Any, pos: int) -> set:
        status, reason = (e.status, "") if isinstance(e, RetentionRun.Finished) else ("Error", e.reason)
        w.execute(f"UPDATE {self.p}runs SET status = ?, reason = ?, end_time = ? WHERE run = ?",
                  (status, reason, stamp(e.timestamp), str(e.originator_id)))
        return set()


_POLICY = "id, project, project_id, version, policy, created_at, updated_at, last_scheduled"
_RUN = ("id, run, policy_id, project, dry_run, trigger, status, policy_version, at_position, start_time, "
        "end_time, total, retained, deleted, reason")
_TASK = "id, execution_id, repository, status, total, retained, deleted, skipped, start_time, end_time"


def _policy(row) -> PolicyRow:
    return PolicyRow(*row[:4], json.loads(row[4]), *row[5:])


def _run(row) -> RunRow:
    return RunRow(*row[:4], bool(row[4]), *row[5:])


class RetentionQueries:
    def __init__(self, db, prefix: str = "retention_") -> None:
        self.db = db
        self.p = prefix

    def policy(self, policy_id: int) -> PolicyRow | None:
        rows = self.db.read(f"SELECT {_POLICY} FROM {self.p}policies WHERE id = ?", (policy_id,))
        return _policy(rows[0]) if rows else None

    def policy_of(self, project: str) -> PolicyRow | None:
        rows = self.db.read(f"SELECT {_POLICY} FROM {self.p}policies WHERE project = ?", (project,))
        return _policy(rows[0]) if rows else None

    def policy_version(self, policy_id: int, version: int) -> dict | None:
        rows = self.db.read(f"SELECT policy FROM {self.p}policy_versions WHERE policy_id = ? AND version = ?",
                            (policy_id, version))
        return json.loads(rows[0][0]) if rows else None

    def scheduled(self) -> list[PolicyRow]:
        """Policies with a cron schedule."""
        rows = self.db.read(f"SELECT {_POLICY} FROM {self.p}policies ORDER BY id")
        return [p for p in map(_policy, rows) if p.policy.get("trigger") == "Schedule" and p.policy.get("cron")]

    def runs(self, policy_id: int, offset: int, limit: int) -> tuple[list[RunRow], int]:
        total = self.db.read(f"SELECT COUNT(*) FROM {self.p}runs WHERE policy_id = ?", (policy_id,))[0][0]
        rows = self.db.read(f"SELECT {_RUN} FROM {self.p}runs WHERE policy_id = ? ORDER BY id DESC "
                            "LIMIT ? OFFSET ?", (policy_id, limit, offset))
        return [_run(r) for r in rows], total

    def run(self, execution_id: int) -> RunRow | None:
        rows = self.db.read(f"SELECT {_RUN} FROM {self.p}runs WHERE id = ?", (execution_id,))
        return _run(rows[0]) if rows else None

    def running(self, policy_id: int | None = None) -> list[RunRow]:
        where, params = ("status = 'Running'", []) if policy_id is None else \
            ("status = 'Running' AND policy_id = ?", [policy_id])
        return [_run(r) for r in self.db.read(f"SELECT {_RUN} FROM {self.p}runs WHERE {where}", params)]

    def tasks(self, execution_id: int, offset: int, limit: int) -> tuple[list[TaskRow], int]:
        total = self.db.read(f"SELECT COUNT(*) FROM {self.p}tasks WHERE execution_id = ?", (execution_id,))[0][0]
        rows = self.db.read(f"SELECT {_TASK} FROM {self.p}tasks WHERE execution_id = ? ORDER BY id "
                            "LIMIT ? OFFSET ?", (execution_id, limit, offset))
        return [TaskRow(*r, []) for r in rows], total

    def task(self, execution_id: int, task_id: int) -> TaskRow | None:
        rows = self.db.read(f"SELECT {_TASK}, items FROM {self.p}tasks WHERE execution_id = ? AND id = ?",
                            (execution_id, task_id))
        return TaskRow(*rows[0][:10], json.loads(rows[0][10])) if rows else None
