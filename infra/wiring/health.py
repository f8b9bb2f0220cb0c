"""The health report: each component is asked, not assumed.

Serving components (event store, query models, blob storage) decide the overall
status: if one fails the registry is `unhealthy` (503). Background workers (the
Kafka relay, the webhook sender) are listed with their recorded state and lag;
a stalled one makes the report `degraded` (still 200: pushes and pulls work, and
the worker catches up from its position once its peer is back).
"""

import structlog

from workers.worker_status import worker_states

log = structlog.get_logger("health")



def _probe(name: str, check) -> dict:
    try:
        check()
        return {"name": name, "status": "healthy"}
    except Exception as error:  # the report names the failing part; details go to the log
        log.warning("health check failed", component=name, error=type(error).__name__)
        return {"name": name, "status": "unhealthy", "error": type(error).__name__}


def _lag(registry, name: str, head: int) -> int | None:
    """How far behind the log the worker's position is (read fresh: it may run elsewhere)."""
    if name == "webhooks":  # it trails the dispatcher, whose position is in the webhook database
        return max(head - registry.webhook_dispatcher.position(), 0)
    rows = registry.db.read("SELECT position FROM projection_positions WHERE name = ?", (name,))
    return max(head - rows[0][0], 0) if rows else None


def _worker(registry, state: dict, head: int) -> dict:
    name = state.pop("name")
    component = {"name": name, "status": "unhealthy" if state["state"] == "stalled" else "healthy"}
    if state.get("error") and state["state"] == "stalled":
        component["error"] = state["error"]
    if name in ("kafka", "webhooks", "audit_forward"):
        component["lag"] = _lag(registry, name, head)
    if name == "webhooks":
        component["retrying"] = registry.webhook_queries.retrying()
    keep = ("state", "since", "updated_at", "holder", "topic", "attempt", "retry_in")
    component.update({k: state[k] for k in keep if k in state})
    return component


def _workers(registry) -> list[dict]:
    try:
        head = registry.app.recorder.max_notification_id() or 0
        return [_worker(registry, state, head) for state in worker_states(registry.db)]
    except Exception as error:
        log.warning("health check failed", component="workers", error=type(error).__name__)
        return [{"name": "workers", "status": "unhealthy", "error": type(error).__name__}]


def check_health(registry) -> dict:
    components = [
        _probe("event_store", registry.app.head),
        _probe("query_models", lambda: registry.db.read("SELECT 1")),
        _probe("blob_storage", lambda: registry.blobs.size("sha256:" + "0" * 64)),
    ]
    serving = all(c["status"] == "healthy" for c in components)
    workers = _workers(registry) if serving else []
    status = "healthy" if serving else "unhealthy"
    if serving and any(w["status"] != "healthy" for w in workers):
        status = "degraded"
    return {"status": status, "components": components + workers}
