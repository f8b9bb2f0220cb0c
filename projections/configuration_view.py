"""The system configuration as a query model: each key's values with the log position each
took effect at (a validity interval runs to the key's next row), so the configuration now
and at any past position are both one indexed query.

Other parts read it through `ConfigurationQueries`: `value(key)` and `values()` for now,
`values(position)` for the past; on the embedded default a cache kept fresh by the projector
answers, on PostgreSQL every call reads the shared table, so a change made by one process is
seen by every other at once.
"""

import json
from typing import Any

from domain.configuration import SystemConfiguration
from domain.configuration_keys import DEFAULTS, SECRETS
from infra.store.sql import Database, Writer
from projections.cache import MISS, ViewCache
from projections.times import stamp
from projections.view import View

STALE = ("configuration",)


class ConfigurationView(View):
    name = "configuration"
    tables = ("config_values",)

    def __init__(self, prefix: str = "cfg_") -> None:
        super().__init__(prefix)
        self.handlers = {SystemConfiguration.Configured: self._changed,
                         SystemConfiguration.Changed: self._changed}

    def statements(self) -> list[str]:
        return [f"""CREATE TABLE IF NOT EXISTS {self.p}config_values (
            name TEXT NOT NULL, valid_from BIGINT NOT NULL, value TEXT NOT NULL,
            changed_at TEXT NOT NULL, PRIMARY KEY (name, valid_from))"""]

    def _changed(self, w: Writer, e: Any, position: int) -> set:
        w.executemany(f"INSERT INTO {self.p}config_values VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                      [(c["key"], position, json.dumps(c["new"]), stamp(e.timestamp)) for c in e.changes])
        return {STALE}


class ConfigurationQueries:
    def __init__(self, db: Database, prefix: str = "cfg_", cache: ViewCache | None = None) -> None:
        self.db = db
        self.p = prefix
        self.cache = cache or ViewCache(enabled=False)

    def values(self, position: int | None = None) -> dict[str, Any]:
        """Every key's value (defaults for keys never set; secrets sealed) now, or just after
        the event at `position`."""
        return {**DEFAULTS, **(self.stored() if position is None else self._read(position))}

    def stored(self) -> dict[str, Any]:
        """The keys an administrator set, with their values now."""
        hit = self.cache.get(STALE)
        if hit is MISS:
            hit = self.cache.load(STALE, lambda: self._read(None))
        return dict(hit)

    def explicit(self, key: str) -> Any:
        """One key's value now if it was ever set, else None (the setting it overrides applies)."""
        return self.stored().get(key)

    def _read(self, position: int | None) -> dict[str, Any]:
        bound, params = ("AND valid_from <= ?", [position]) if position is not None else ("", [])
        rows = self.db.read(
            f"SELECT c.name, c.value FROM {self.p}config_values c WHERE c.valid_from = "
            f"(SELECT MAX(valid_from) FROM {self.p}config_values d WHERE d.name = c.name {bound})", params)
        return {key: json.loads(value) for key, value in rows if key in DEFAULTS}

    def value(self, key: str) -> Any:
        """One key's value now."""
        return self.values()[key]

    def times(self, key: str) -> tuple[str, str] | None:
        """(first set, last changed) of a key, None if it was never set."""
        rows = self.db.read(f"SELECT MIN(changed_at), MAX(changed_at) FROM {self.p}config_values "
                            "WHERE name = ?", (key,))
        return tuple(rows[0]) if rows and rows[0][0] is not None else None

    def audit_forwarding(self) -> tuple[str, bool, list[str]]:
        """(audit_log_forward_endpoint, skip_audit_log_database, disabled_audit_log_event_types
        as a list) now: what audit log forwarding reads."""
        values = self.values()
        disabled = [t.strip() for t in values["disabled_audit_log_event_types"].split(",") if t.strip()]
        return values["audit_log_forward_endpoint"], values["skip_audit_log_database"], disabled


def shown(key: str, value: Any, limit: int = 200) -> str:
    """A value as the audit log shows it: JSON, cut after `limit` characters."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "..."


def audit_rows(event: Any, position: int) -> list[tuple]:
    """One audit row per changed key (resource_type `configuration`, operation `update`):
    `key: old -> new`; a secret only as `key: changed` (or `set`/`cleared`), never its value."""
    rows = []
    for seq, change in enumerate(event.changes):
        key, old, new = change["key"], change["old"], change["new"]
        if key in SECRETS:
            what = "cleared" if not new else ("set" if not old else "changed")
            resource = f"{key}: {what}"
        else:
            resource = f"{key}: {shown(key, old)} -> {shown(key, new)}"
        rows.append((position, seq, event.actor, resource, "configuration", "update",
                     stamp(event.timestamp), None, event.client_ip, event.request_id))
    return rows
