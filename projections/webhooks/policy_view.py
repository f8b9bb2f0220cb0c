"""Query model of webhook policies as they are now (what the REST API shows and the sender
uses for auth headers, sealed: only the sender opens them). Policy ids are the log positions of the events that created them."""

import json
from typing import Any

from domain.project import Project
from domain.webhooks.policy import WebhookPolicy
from infra.store.sql import Writer
from projections.times import stamp
from projections.view import View


class WebhookPolicyView(View):
    name = "webhook_policies"
    tables = ("policies",)
    indexes = ("policies_id",)

    def __init__(self, prefix: str = "whp_") -> None:
        super().__init__(prefix)
        self.handlers = {
            WebhookPolicy.Created: self._created,
            WebhookPolicy.Recreated: self._created,
            WebhookPolicy.Updated: self._updated,
            WebhookPolicy.SecretsResealed: self._resealed,
            WebhookPolicy.EnabledChanged: self._enabled,
            WebhookPolicy.Deleted: self._deleted,
            Project.Deleted: self._project_deleted,
        }

    def statements(self) -> list[str]:
        return [
            f"""CREATE TABLE IF NOT EXISTS {self.p}policies (
                policy_key TEXT PRIMARY KEY, policy_id BIGINT NOT NULL, project TEXT NOT NULL,
                project_id BIGINT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL,
                targets TEXT NOT NULL, event_types TEXT NOT NULL, enabled INTEGER NOT NULL,
                creator TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
            f"CREATE UNIQUE INDEX IF NOT EXISTS {self.p}policies_id ON {self.p}policies (project, policy_id)",
        ]

    def _created(self, w: Writer, e: Any, pos: int) -> set:
        when = stamp(e.timestamp)
        w.execute(f"DELETE FROM {self.p}policies WHERE policy_key = ?", (str(e.originator_id),))
        w.execute(f"INSERT INTO {self.p}policies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (str(e.originator_id), pos, e.project, e.project_id, e.name, e.description,
                   json.dumps(e.targets), json.dumps(e.event_types), int(e.enabled), e.actor,
                   when, when))
        return set()

    def _updated(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}policies SET description = ?, targets = ?, event_types = ?, "
                  "updated_at = ? WHERE policy_key = ?",
                  (e.description, json.dumps(e.targets), json.dumps(e.event_types),
                   stamp(e.timestamp), str(e.originator_id)))
        return set()

    def _resealed(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}policies SET targets = ? WHERE policy_key = ?",
                  (json.dumps(e.targets), str(e.originator_id)))
        return set()

    def _enabled(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"UPDATE {self.p}policies SET enabled = ?, updated_at = ? WHERE policy_key = ?",
                  (int(e.enabled), stamp(e.timestamp), str(e.originator_id)))
        return set()

    def _deleted(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"DELETE FROM {self.p}policies WHERE policy_key = ?", (str(e.originator_id),))
        return set()

    def _project_deleted(self, w: Writer, e: Any, pos: int) -> set:
        w.execute(f"DELETE FROM {self.p}policies WHERE project = ?", (e.name,))
        return set()
