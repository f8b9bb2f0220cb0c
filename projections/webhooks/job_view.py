"""Query model of what happened to webhook delivery jobs: status, attempts, next retry.

A job the dispatcher listed (`whd_jobs`) with no row here has not been attempted
yet (Harbor's `pending`). Times of the next attempt are epoch milliseconds.
"""

from typing import Any

from domain.webhooks.delivery import WebhookDelivery
from infra.store.sql import Writer
from projections.times import stamp
from projections.view import View


class WebhookJobView(View):
    name = "webhook_jobs"
    tables = ("status", "attempts")
    indexes = ("status_due", "status_policy")

    def __init__(self, prefix: str = "whs_") -> None:
        super().__init__(prefix)
        self.handlers = {
            WebhookDelivery.Started: self._started,
            WebhookDelivery.Delivered: self._delivered,
            WebhookDelivery.Attempted: self._attempted,
            WebhookDelivery.Succeeded: self._status("success"),
            WebhookDelivery.Failed: self._failed,
            WebhookDelivery.GaveUp: self._status("error"),
            WebhookDelivery.RetryRequested: self._retry,
        }

    def statements(self) -> list[str]:
        p = self.p
        return [
            f"""CREATE TABLE IF NOT EXISTS {p}status (
                job_key TEXT PRIMARY KEY, job_id BIGINT NOT NULL, project TEXT NOT NULL,
                policy_id BIGINT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
                budget_from INTEGER NOT NULL, next_at BIGINT NOT NULL, last_code INTEGER NOT NULL,
                last_error TEXT NOT NULL, started_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
            f"""CREATE INDEX IF NOT EXISTS {p}status_due ON {p}status (next_at)
                WHERE status IN ('scheduled', 'pending')""",
            f"CREATE INDEX IF NOT EXISTS {p}status_policy ON {p}status (project, policy_id)",
            f"""CREATE TABLE IF NOT EXISTS {p}attempts (
                job_key TEXT NOT NULL, attempt INTEGER NOT NULL, at TEXT NOT NULL,
                status_code INTEGER NOT NULL, error TEXT NOT NULL, duration_ms INTEGER NOT NULL,
                PRIMARY KEY (job_key, attempt))""",
        ]

    def _started(self, w: Writer, e: Any, pos: int) -> set:
        when = stamp(e.timestamp)
        w.execute(f"INSERT INTO {self.p}status VALUES (?, ?, ?, ?, 'running', 0, 0, 0, 0, '', ?, ?) "
                  "ON CONFLICT DO NOTHING",
                  (str(e.originator_id), e.job_id, e.project, e.policy_id, when, when))
        return set()

    def _delivered(self, w: Writer, e: Any, pos: int) -> set:
        when, key = stamp(e.timestamp), str(e.originator_id)
        w.execute(f"INSERT INTO {self.p}status VALUES (?, ?, ?, ?, 'success', 1, 0, 0, ?, '', ?, ?) "
                  "ON CONFLICT DO NOTHING", (key, e.job_id, e.project, e.policy_id, e.status_code,
                                             when, when))
        w.execute(f"INSERT INTO {self.p}attempts VALUES (?, 1, ?, ?, '', ?) ON CONFLICT DO NOTHING",
                  (key, when, e.status_code, e.duration_ms))
        return set()

    def _attempted(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"INSERT INTO {self.p}attempts VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                  (str(e.originator_id), e.attempt, stamp(e.timestamp), e.status_code, e.error,
                   e.duration_ms))
        w.execute(f"UPDATE {self.p}status SET attempts = ?, last_code = ?, last_error = ?, "
                  "updated_at = ? WHERE job_key = ?",
                  (e.attempt, e.status_code, e.error, stamp(e.timestamp), str(e.originator_id)))
        return set()

    def _status(self, status: str):
        def apply(w: Writer, e: Any, pos: int) -> set:
            error = getattr(e, "error", None)
            sql = f"UPDATE {self.p}status SET status = ?, updated_at = ?"
            params: list = [status, stamp(e.timestamp)]
            if error is not None:
                sql += ", last_error = ?"
                params.append(error)
            w.execute(sql + " WHERE job_key = ?", [*params, str(e.originator_id)])
            return set()
        return apply

    def _failed(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}status SET status = 'scheduled', next_at = ?, updated_at = ? "
                  "WHERE job_key = ?", (int(e.retry_at * 1000), stamp(e.timestamp), str(e.originator_id)))
        return set()

    def _retry(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}status SET status = 'pending', budget_from = ?, next_at = 0, "
                  "updated_at = ? WHERE job_key = ?",
                  (e.after_attempt, stamp(e.timestamp), str(e.originator_id)))
        return set()
