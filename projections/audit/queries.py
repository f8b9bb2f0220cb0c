"""Reading the audit log, with Harbor's q= filters."""

import msgspec

from domain.history_window import Window
from infra.schemas.query_language import parse_query, to_sql
from infra.store.sql import Database

COLUMNS = {"operation": "operation", "resource": "resource", "resource_type": "resource_type",
           "username": "username", "op_time": "op_time", "project": "project",
           "request_id": "request_id"}


class AuditRow(msgspec.Struct):
    id: int
    username: str
    resource: str
    resource_type: str
    operation: str
    op_time: str
    client_ip: str
    request_id: str


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
             window: Window | None = None) -> tuple[list[AuditRow], int]:
        """A page of entries; with `before` (a cursor: an entry id), the page after it by keyset,
        which stays as fast on the millionth row as on the first. With `window`, only entries
        inside it (the caller's part of the project's history)."""
        where, params = to_sql(parse_query(q, set(COLUMNS)), COLUMNS)
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
