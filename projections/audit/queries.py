"""Reading the audit log, with Harbor's q= filters."""

import msgspec

from domain.history_window import Window
from infra.schemas.query_language import parse_query, to_sql
from infra.store.sql import Database
from projections.audit.view import EVENT_TYPE_SQL, FAILED_OPERATIONS, OPERATION_SQL, purge_filter

COLUMNS = {"operation": "operation", "resource": "resource", "resource_type": "resource_type",
           "username": "username", "op_time": "op_time", "project": "project",
           "request_id": "request_id"}

# The extended audit log (Harbor's /auditlog-exts) filters on Harbor's operation and event type.
EXT_COLUMNS = {**COLUMNS, "operation": OPERATION_SQL, "event_type": EVENT_TYPE_SQL}


class AuditRow(msgspec.Struct):
    id: int
    username: str
    resource: str
    resource_type: str
    operation: str
    op_time: str
    client_ip: str
    request_id: str


FAILED = set(FAILED_OPERATIONS)


def ext_entry(row) -> dict:
    """An entry in Harbor's AuditLogExt shape; a failed sign-in is operation `login` with
    `operation_result` false (the description says why)."""
    failed = row.operation in FAILED
    operation = "login" if failed else row.operation
    outcome = {"login_failed": " (failed)", "login_throttled": " (refused: too many failures)"}
    return {"id": row.id, "event_type": f"{operation}_{row.resource_type}",
            "resource_type": row.resource_type, "resource": row.resource, "username": row.username,
            "operation": operation,
            "operation_description": f"{operation} {row.resource_type} {row.resource}"
                                     f"{outcome.get(row.operation, '')}",
            "operation_result": not failed, "op_time": row.op_time,
            "client_ip": row.client_ip, "request_id": row.request_id}


def stored_entry(row: tuple) -> dict:
    """The AuditLogExt form of a row as the audit view stores it (view.audit_rows)."""
    position, seq, username, resource, resource_type, operation, op_time, _, client_ip, request_id = row
    return ext_entry(AuditRow(position * 100000 + seq, username, resource, resource_type, operation,
                              op_time, client_ip, request_id))


def _inside(window: Window) -> tuple[str, list]:
    """SQL for entry ids (log positions) inside the window."""
    if window.periods is None:
        return "id >= ?", [window.since]
    clauses, params = [], [window.since]
    for start, end in window.periods:
        clauses.append("id >= ?" if end is None else "(id >= ? AND id < ?)")
        params.extend([start] if end is None else [start, end])
    return f"(id >= ? AND ({' OR '.join(clauses) or '1 = 0'}))", params


class AuditQueries:
    def __init__(self, db: Database, prefix: str = "audit_") -> None:
        self.db = db
        self.p = prefix

    def logs(self, q: str | None, project: str | None, offset: int, limit: int,
             descending: bool = True, before: int | None = None,
             window: Window | None = None, columns: dict[str, str] = COLUMNS) -> tuple[list[AuditRow], int]:
        """A page of entries; with `before` (a cursor: an entry id), the page after it by keyset,
        which stays as fast on the millionth row as on the first. With `window`, only entries
        inside it (the caller's part of the project's history)."""
        where, params = to_sql(parse_query(q, set(columns)), columns)
        if project is not None:
            where += " AND project = ?"
            params.append(project)
        if window is not None:
            inside, inside_params = _inside(window)
            where += f" AND {inside}"
            params.extend(inside_params)
        if before is not None:
            where += " AND (id * 100000 + seq) < ?" if descending else " AND (id * 100000 + seq) > ?"
            params.append(before)
            offset = 0
        total = -1 if before is not None else \
            self.db.read(f"SELECT COUNT(*) FROM {self.p}audit_log WHERE {where}", params)[0][0]
        order = "DESC" if descending else "ASC"
        rows = self.db.read(
            f"SELECT id * 100000 + seq, username, resource, resource_type, operation, op_time, client_ip, "
            f"request_id FROM {self.p}audit_log WHERE {where} ORDER BY id {order}, seq {order} "
            "LIMIT ? OFFSET ?", [*params, limit, offset])
        return [AuditRow(*row) for row in rows], total

    def purgeable(self, until: int, cutoff: str, event_types: list[str]) -> int:
        """How many entries a purge with these bounds trims (see view.purge)."""
        matching, params = purge_filter(event_types)
        return self.db.read(f"SELECT COUNT(*) FROM {self.p}audit_log WHERE id < ? AND op_time < ? "
                            f"AND {matching}", [until, cutoff, *params])[0][0]
