"""What Harbor's job-service screens show, answered from Tidemark's own background work
(ADR 0029): a "pool" is a process that runs background work, a "worker" is one log follower
or scheduler in it, a "queue" is the part of the log a follower has not handled yet.

The schedulers form one more queue, Harbor's SCHEDULER: pausing it pauses every schedule
(domain/schedule_pause.py), the one queue action that maps to something true.

Positions are read fresh from the stores (a follower may run in another process); which
process runs a follower is known for the ones that record their state (workers/worker_status.py:
the Kafka relay, the webhook sender) and for those running in the process that answers.
"""

import os
import socket
import time
from datetime import datetime, timezone
from typing import Any, Callable

from infra.store.event_codec import decode_state
from workers.worker_status import HOLDER, worker_states

ALL = "all"  # Harbor's name for every pool
SCHEDULER = "SCHEDULER"  # Harbor's job type of scheduled runs: pausing it pauses every schedule


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + "Z"


def _alive(part: Any) -> bool:
    thread = getattr(part, "_thread", None)
    return thread is not None and thread.is_alive()


class JobService:
    def __init__(self, registry: Any, schedule_sources: list[Callable[[Any, datetime], list[dict]]]) -> None:
        self.registry = registry
        self.started_at = time.time()
        self.schedule_sources = schedule_sources

    def schedules(self, now: datetime) -> list[dict]:
        """Every source's schedules (Harbor's ScheduleTask, with state and lag), in source order."""
        return [task for source in self.schedule_sources for task in source(self.registry, now)]

    # -- the log followers and their backlog --------------------------------------------------

    def _head(self) -> int:
        return self.registry.app.recorder.max_notification_id() or 0

    def followers(self) -> list[dict]:
        """Every log follower this registry is composed of: name, position, lag, and whether
        it follows in this process."""
        head = self._head()
        found = []
        for projector in self.registry.projectors:
            position = getattr(projector, "reached", projector.position)()
            state = getattr(projector, "state", "following")  # the Kafka relay may stand by
            found.append({"name": projector.name, "position": position, "lag": max(head - position, 0),
                          "here": _alive(projector), "state": state if isinstance(state, str) else "following"})
        return found

    def _waiting_since(self, position: int) -> float | None:
        """When the oldest event after `position` was written, if there is one."""
        after = self.registry.app.recorder.select_notifications(start=position + 1, limit=1)
        if not after:
            return None
        stamp = decode_state(after[0].state).get("timestamp", "")
        try:
            return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None

    def scheduler_queue(self) -> dict:
        """Harbor's SCHEDULER queue: the schedules with a tick due and no run started yet,
        how long the oldest has waited, and whether scheduled runs are paused."""
        tasks = self.schedules(datetime.now(timezone.utc))
        due = [task for task in tasks if task["lag_seconds"] or task["state"] == "due"]
        return {"job_type": SCHEDULER, "count": len(due), "paused": self.registry.schedule_pause.paused(),
                "latency": max((task["lag_seconds"] for task in due), default=0)}

    def queues(self) -> list[dict]:
        """Harbor's JobQueue per follower: `count` events not handled yet, `latency` seconds the
        oldest of them has waited (a follower cannot be paused, ADR 0029); and the schedulers'."""
        now = time.time()
        queues = [self.scheduler_queue()]
        for follower in self.followers():
            waited = self._waiting_since(follower["position"]) if follower["lag"] else None
            latency = max(int(now - waited), 0) if waited is not None else 0
            queues.append({"job_type": follower["name"], "count": follower["lag"], "latency": latency,
                           "paused": False, "position": follower["position"]})
        return queues

    # -- processes and what runs in them ------------------------------------------------------

    def _tickers(self) -> list[Any]:
        names = ("retention_scheduler", "gc_scheduler", "sweeper", "pulls", "sign_ins")
        return [part for part in (getattr(self.registry, n, None) for n in names) if part is not None]

    def _local_workers(self) -> list[dict]:
        now = _iso(time.time())
        started = _iso(self.started_at)
        workers = [{"id": f["name"], "pool_id": HOLDER, "job_name": f["name"], "job_id": "",
                    "start_at": started, "check_in": f"{f['state']}: at {f['position']}, {f['lag']} behind",
                    "checkin_at": now, "kind": "follower", "state": f["state"],
                    "position": f["position"], "lag": f["lag"]}
                   for f in self.followers() if f["here"]]
        running = self.running_jobs()
        for ticker in self._tickers():
            if not _alive(ticker):
                continue
            job = running.get(ticker.name, "")
            workers.append({"id": ticker.name, "pool_id": HOLDER, "job_name": ticker.name, "job_id": job,
                            "start_at": started, "check_in": f"running {job}" if job else "waiting",
                            "checkin_at": now, "kind": "scheduler", "state": "running" if job else "waiting"})
        return workers

    def running_jobs(self) -> dict[str, str]:
        """The job each scheduler runs now, by scheduler name (Harbor's `job_id`)."""
        jobs = {}
        gc_runs = [row for row in self.registry.gc.runs(0, 20)[0] if row[4] == "Running"]
        if gc_runs:
            jobs["gc-scheduler"] = f"gc-{gc_runs[0][0]}"
        retention_runs = self.registry.retention.running()
        if retention_runs:
            jobs["retention-scheduler"] = f"retention-{retention_runs[0].id}"
        return jobs

    def _recorded_workers(self) -> list[dict]:
        """Workers that record their state (any process), as Harbor's Worker."""
        head = self._head()
        workers = []
        for state in worker_states(self.registry.db):
            name = state["name"]
            lag = None
            if name == "webhooks":
                lag = max(head - self.registry.webhook_dispatcher.position(), 0)
            else:
                rows = self.registry.db.read("SELECT position FROM projection_positions WHERE name = ?", (name,))
                lag = max(head - rows[0][0], 0) if rows else None
            detail = state.get("error") or ""
            workers.append({"id": name, "pool_id": state["holder"], "job_name": name, "job_id": "",
                            "start_at": state["since"], "checkin_at": state["updated_at"],
                            "check_in": f"{state['state']}" + (f": {detail}" if detail else ""),
                            "kind": "follower", "state": state["state"], "lag": lag})
        return workers

    def workers(self, pool_id: str) -> list[dict] | None:
        """The workers of one pool (`all`: of every pool, and the followers no process here
        runs or reports, with an empty pool_id); None for an unknown pool."""
        recorded = self._recorded_workers()
        local = [w for w in self._local_workers() if w["id"] not in {r["id"] for r in recorded
                                                                      if r["pool_id"] == HOLDER}]
        every = recorded + local
        if pool_id == ALL:
            seen = {w["id"] for w in every}
            every += [{"id": f["name"], "pool_id": "", "job_name": f["name"], "job_id": "",
                       "check_in": f"not followed in this process: at {f['position']}, {f['lag']} behind",
                       "kind": "follower", "state": "elsewhere", "position": f["position"], "lag": f["lag"]}
                      for f in self.followers() if f["name"] not in seen]
            return every
        if pool_id not in {p["worker_pool_id"] for p in self.pools()}:
            return None
        return [w for w in every if w["pool_id"] == pool_id]

    def pools(self) -> list[dict]:
        """This process, and every other process that recorded a worker's state."""
        here = {"pid": os.getpid(), "worker_pool_id": HOLDER, "start_at": _iso(self.started_at),
                "heartbeat_at": _iso(time.time()), "concurrency": len(self._local_workers()),
                "host": socket.gethostname()}
        others: dict[str, dict] = {}
        for state in worker_states(self.registry.db):
            holder = state["holder"]
            if holder == HOLDER:
                continue
            host, _, pid = holder.rpartition(":")
            pool = others.setdefault(holder, {"pid": int(pid) if pid.isdigit() else 0, "worker_pool_id": holder,
                                              "start_at": state["since"], "heartbeat_at": state["updated_at"],
                                              "concurrency": 0, "host": host})
            pool["concurrency"] += 1
            pool["start_at"] = min(pool["start_at"], state["since"])
            pool["heartbeat_at"] = max(pool["heartbeat_at"], state["updated_at"])
        return [here, *others.values()]


def attach_job_service(registry: Any) -> None:
    from commands.schedule_pause_handlers import SchedulePauseCommands
    from infra.wiring.schedules import gc_schedules, purge_audit_schedules, retention_schedules
    from projections.projector import Projector
    from projections.schedule_pause_view import SchedulePauseQueries, SchedulePauseView

    registry.schedule_pause = SchedulePauseQueries(registry.db)
    registry.schedule_pause_commands = SchedulePauseCommands(registry.app)
    registry.projectors.append(Projector(registry.app, registry.db, SchedulePauseView()))
    # Each source lists its schedules as Harbor's ScheduleTask; a new kind adds its own here.
    registry.job_service = JobService(registry, [gc_schedules, retention_schedules, purge_audit_schedules])
