"""Query model of storage policies: immutability rules per project."""

import json
from typing import Any

from domain.immutability import ImmutabilityRules
from infra.sql import Writer

TABLES = ("immutable_rules",)


class PolicyView:
    name = "policy"
    tables = TABLES

    def __init__(self, prefix: str = "policy_") -> None:
        self.p = prefix
        self.handlers = {
            ImmutabilityRules.RuleSet: self._rule_set,
            ImmutabilityRules.RuleDeleted: self._rule_deleted,
        }

    def create(self, w: Writer) -> None:
        w.execute(f"""CREATE TABLE IF NOT EXISTS {self.p}immutable_rules (
            project TEXT NOT NULL, id INTEGER NOT NULL, rule TEXT NOT NULL, PRIMARY KEY (project, id))""")

    def drop(self, w: Writer) -> None:
        for table in TABLES:
            w.execute(f"DROP TABLE IF EXISTS {self.p}{table}")

    def drop_indexes(self, w: Writer) -> None:
        pass

    def apply(self, w: Writer, event: Any, position: int) -> set:
        handler = self.handlers.get(type(event))
        return handler(w, event) if handler else set()

    def _rule_set(self, w: Writer, e: Any) -> set:
        w.execute(f"INSERT INTO {self.p}immutable_rules VALUES (?, ?, ?) ON CONFLICT (project, id) "
                  "DO UPDATE SET rule = excluded.rule", (e.project, e.rule["id"], json.dumps(e.rule)))
        return set()

    def _rule_deleted(self, w: Writer, e: Any) -> set:
        w.execute(f"DELETE FROM {self.p}immutable_rules WHERE project = ? AND id = ?", (e.project, e.rule_id))
        return set()


class PolicyQueries:
    def __init__(self, db, prefix: str = "policy_") -> None:
        self.db = db
        self.p = prefix

    def immutable_rules(self, project: str) -> list[dict]:
        rows = self.db.read(f"SELECT rule FROM {self.p}immutable_rules WHERE project = ? ORDER BY id",
                            (project,))
        return [json.loads(row[0]) for row in rows]
