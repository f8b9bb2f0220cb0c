"""Query model of storage policies: immutability rules per project."""

import json
from typing import Any

from domain.immutability import ImmutabilityRules
from domain.project import Project
from domain.quota import Quota
from projections.times import stamp
from infra.store.sql import Writer
from projections.view import View

TABLES = ("immutable_rules", "quotas")


class PolicyView(View):
    name = "policy"
    tables = TABLES

    def __init__(self, prefix: str = "policy_") -> None:
        super().__init__(prefix)
        self.handlers = {
            ImmutabilityRules.RuleSet: self._rule_set,
            ImmutabilityRules.RuleDeleted: self._rule_deleted,
            Quota.Created: self._quota_created,
            Quota.LimitChanged: self._quota_changed("hard", "limit"),
            Quota.Charged: self._quota_changed("used", "used"),
            Quota.Released: self._quota_changed("used", "used"),
            Project.Deleted: self._project_deleted,
        }

    def statements(self) -> list[str]:
        return [f"""CREATE TABLE IF NOT EXISTS {self.p}immutable_rules (
            project TEXT NOT NULL, id INTEGER NOT NULL, rule TEXT NOT NULL, PRIMARY KEY (project, id))""",
                f"""CREATE TABLE IF NOT EXISTS {self.p}quotas (
            project TEXT PRIMARY KEY, hard BIGINT NOT NULL, used BIGINT NOT NULL,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL)"""]

    def _project_deleted(self, w: Writer, e: Any, pos: int) -> set:
        """A project created again under the name starts with no rules and no usage."""
        w.execute(f"DELETE FROM {self.p}immutable_rules WHERE project = ?", (e.name,))
        w.execute(f"DELETE FROM {self.p}quotas WHERE project = ?", (e.name,))
        return set()

    def _quota_created(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"INSERT INTO {self.p}quotas VALUES (?, ?, 0, ?, ?) ON CONFLICT DO NOTHING",
                  (e.project, e.limit, stamp(e.timestamp), stamp(e.timestamp)))
        return set()

    def _quota_changed(self, column: str, field: str):
        def apply(w: Writer, e: Any, pos: int) -> set:
            w.execute(f"UPDATE {self.p}quotas SET {column} = ?, updated_at = ? WHERE project = ?",
                      (getattr(e, field), stamp(e.timestamp), e.project))
            return set()
        return apply

    def _rule_set(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"INSERT INTO {self.p}immutable_rules VALUES (?, ?, ?) ON CONFLICT (project, id) "
                  "DO UPDATE SET rule = excluded.rule", (e.project, e.rule["id"], json.dumps(e.rule)))
        return set()

    def _rule_deleted(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"DELETE FROM {self.p}immutable_rules WHERE project = ? AND id = ?", (e.project, e.rule_id))
        return set()


class PolicyQueries:
    def __init__(self, db, prefix: str = "policy_") -> None:
        self.db = db
        self.p = prefix

    def quota(self, project: str) -> tuple | None:
        rows = self.db.read(f"SELECT project, hard, used, created_at, updated_at FROM {self.p}quotas "
                            "WHERE project = ?", (project,))
        return rows[0] if rows else None

    def quotas(self) -> dict[str, tuple]:
        rows = self.db.read(f"SELECT project, hard, used, created_at, updated_at FROM {self.p}quotas")
        return {row[0]: row for row in rows}

    def immutable_rules(self, project: str) -> list[dict]:
        rows = self.db.read(f"SELECT rule FROM {self.p}immutable_rules WHERE project = ? ORDER BY id",
                            (project,))
        return [json.loads(row[0]) for row in rows]
