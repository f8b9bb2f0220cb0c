"""Queries over the webhook query models: policies (now), jobs (from the dispatcher) and
what happened to them (from the delivery events)."""

import json

import msgspec

from infra.store.sql import Database


class PolicyRow(msgspec.Struct, frozen=True):
    policy_key: str
    policy_id: int
    project: str
    project_id: int
    name: str
    description: str
    targets: list[dict]  # with auth headers: redact before showing
    event_types: list[str]
    enabled: bool
    creator: str
    created_at: str
    updated_at: str


class JobRow(msgspec.Struct, frozen=True):
    job_id: int
    job_key: str
    project: str
    policy_id: int
    policy_key: str
    position: int
    event_id: str
    event_type: str
    notify_type: str
    address: str
    payload_format: str
    target_index: int
    replay: int
    occur_at: int
    status: str  # pending (never attempted), running, scheduled (retry due), success, error
    attempts: int
    budget_from: int
    last_code: int
    last_error: str
    started_at: str | None
    updated_at: str | None
    data: dict | None = None  # the occurrence, when asked for (to render the payload)


class AttemptRow(msgspec.Struct, frozen=True):
    attempt: int
    at: str
    status_code: int
    error: str
    duration_ms: int


_POLICY = ("policy_key, policy_id, project, project_id, name, description, targets, event_types, "
           "enabled, creator, created_at, updated_at")
_JOB = ("j.job_id, j.job_key, j.project, j.policy_id, j.policy_key, j.position, j.event_id, "
        "j.event_type, j.notify_type, j.address, j.payload_format, j.target_index, j.replay, "
        "j.occur_at, COALESCE(s.status, 'pending'), COALESCE(s.attempts, 0), "
        "COALESCE(s.budget_from, 0), COALESCE(s.last_code, 0), COALESCE(s.last_error, ''), "
        "s.started_at, s.updated_at")


def _policy(row) -> PolicyRow:
    return PolicyRow(*row[:6], json.loads(row[6]), json.loads(row[7]), bool(row[8]), *row[9:])


def _job(row, with_data: bool = False, parsed: dict | None = None) -> JobRow:
    if not with_data:
        return JobRow(*row[:21])
    if parsed is None:
        return JobRow(*row[:21], data=json.loads(row[21]))
    data = parsed.get(row[21])  # jobs of one event share its occurrence: parse it once
    if data is None:
        data = parsed[row[21]] = json.loads(row[21])
    return JobRow(*row[:21], data=data)


class WebhookQueries:
    def __init__(self, db: Database, policies: str = "whp_", jobs: str = "whd_",
                 status: str = "whs_", jobs_db: Database | None = None) -> None:
        self.policy_db = db  # policies: the registry's views
        self.db = jobs_db or db  # jobs and their statuses (the webhook database)
        self.pp, self.jp, self.sp = policies, jobs, status
        self._from = (f"{jobs}jobs j LEFT JOIN {status}status s ON s.job_key = j.job_key")

    # -- policies ----------------------------------------------------------------------------

    def policies(self, project: str, offset: int, limit: int,
                 name: str | None = None) -> tuple[list[PolicyRow], int]:
        where, params = "project = ?", [project]
        if name:
            where += " AND name LIKE ?"
            params.append(f"%{name}%")
        total = self.policy_db.read(f"SELECT COUNT(*) FROM {self.pp}policies WHERE {where}",
                                    params)[0][0]
        rows = self.policy_db.read(f"SELECT {_POLICY} FROM {self.pp}policies WHERE {where} "
                            "ORDER BY policy_id LIMIT ? OFFSET ?", [*params, limit, offset])
        return [_policy(r) for r in rows], total

    def policy(self, project: str, policy_id: int) -> PolicyRow | None:
        rows = self.policy_db.read(f"SELECT {_POLICY} FROM {self.pp}policies WHERE project = ? "
                            "AND policy_id = ?", (project, policy_id))
        return _policy(rows[0]) if rows else None

    def policy_by_key(self, key: str) -> PolicyRow | None:
        rows = self.policy_db.read(f"SELECT {_POLICY} FROM {self.pp}policies WHERE policy_key = ?",
                                   (key,))
        return _policy(rows[0]) if rows else None

    def auth_headers(self) -> list[tuple[str, list[str]]]:
        """(policy key, its targets' stored auth headers) of every current policy that has one
        (what key rotation reseals and checks)."""
        rows = self.policy_db.read(f"SELECT policy_key, targets FROM {self.pp}policies "
                                   "ORDER BY policy_id")
        found = []
        for key, targets in rows:
            headers = [t["auth_header"] for t in json.loads(targets) if t.get("auth_header")]
            if headers:
                found.append((key, headers))
        return found

    # -- jobs --------------------------------------------------------------------------------

    def jobs(self, project: str, policy_id: int, statuses: list[str], offset: int,
             limit: int) -> tuple[list[JobRow], int]:
        where, params = "j.project = ? AND j.policy_id = ?", [project, policy_id]
        if statuses:
            where += f" AND COALESCE(s.status, 'pending') IN ({', '.join('?' for _ in statuses)})"
            params.extend(statuses)
        total = self.db.read(f"SELECT COUNT(*) FROM {self._from} WHERE {where}", params)[0][0]
        rows = self.db.read(f"SELECT {_JOB} FROM {self._from} WHERE {where} ORDER BY j.job_id DESC "
                            "LIMIT ? OFFSET ?", [*params, limit, offset])
        return [_job(r) for r in rows], total

    def job(self, project: str, job_id: int, with_data: bool = False) -> JobRow | None:
        data = ", o.data" if with_data else ""
        join = f" JOIN {self.jp}occurrences o ON o.occ_id = j.occ_id" if with_data else ""
        rows = self.db.read(f"SELECT {_JOB}{data} FROM {self._from}{join} WHERE j.project = ? "
                            "AND j.job_id = ?", (project, job_id))
        return _job(rows[0], with_data) if rows else None

    def attempts(self, job_key: str) -> list[AttemptRow]:
        rows = self.db.read(f"SELECT attempt, at, status_code, error, duration_ms FROM "
                            f"{self.sp}attempts WHERE job_key = ? ORDER BY attempt", (job_key,))
        return [AttemptRow(*r) for r in rows]

    def last_triggers(self, project: str) -> list[tuple[int, str, int]]:
        """(policy id, event type, newest event time) for every policy that had a job."""
        return [tuple(r) for r in self.db.read(
            f"SELECT policy_id, event_type, MAX(occur_at) FROM {self.jp}jobs WHERE project = ? "
            "GROUP BY policy_id, event_type ORDER BY policy_id, event_type", (project,))]

    # -- for the sender ----------------------------------------------------------------------

    def first_unstarted(self) -> int:
        """The id before the oldest job never attempted (where the sender resumes)."""
        rows = self.db.read(f"SELECT MIN(j.job_id) FROM {self._from} WHERE s.job_key IS NULL")
        if rows[0][0] is not None:
            return rows[0][0] - 1
        return self.db.read(f"SELECT COALESCE(MAX(job_id), 0) FROM {self.jp}jobs")[0][0]

    def new_jobs(self, after: int, limit: int) -> list[JobRow]:
        """Jobs after a job id that were never attempted, oldest first."""
        rows = self.db.read(f"SELECT {_JOB}, o.data FROM {self._from} JOIN {self.jp}occurrences o "
                            "ON o.occ_id = j.occ_id WHERE j.job_id > ? AND s.job_key IS NULL "
                            "ORDER BY j.job_id LIMIT ?", (after, limit))
        parsed: dict = {}
        return [_job(r, True, parsed) for r in rows]

    def newest_job(self) -> int:
        return self.db.read(f"SELECT COALESCE(MAX(job_id), 0) FROM {self.jp}jobs")[0][0]

    def retrying(self) -> int:
        """How many jobs wait for a retry (or to be sent again on request)."""
        return self.db.read(f"SELECT COUNT(*) FROM {self.sp}status "
                            "WHERE status IN ('scheduled', 'pending')")[0][0]

    def due_jobs(self, now_ms: int, limit: int) -> list[JobRow]:
        """Jobs waiting for a retry (or asked to be sent again) whose time has come."""
        rows = self.db.read(f"SELECT {_JOB}, o.data FROM {self.sp}status s JOIN {self.jp}jobs j "
                            f"ON j.job_key = s.job_key JOIN {self.jp}occurrences o ON o.occ_id = j.occ_id "
                            "WHERE s.status IN ('scheduled', 'pending') AND s.next_at <= ? "
                            "ORDER BY s.next_at LIMIT ?", (now_ms, limit))
        parsed: dict = {}
        return [_job(r, True, parsed) for r in rows]
