"""The replication worker: starts event-based and scheduled executions, plans each
execution's tasks and runs them, and records every outcome as events.

Each round: the event follower (workers/replication/follower.py) and the schedule; then
every execution still Running (from the execution view, which follows the log, so a
restart resumes every open execution): planned if it is not yet, its pending tasks run in a
pool (`replication_concurrency` at once). A task left Running by a process that stopped is
run again (copies are idempotent: what the destination has is not sent again).

A task tries its copy `retry_attempts` times (a policy setting) on retryable faults
(unreachable, 5xx, a digest the destination got wrong), waiting `retry_backoff_seconds`
doubling; it is Success only once the destination serves every manifest and blob by digest.
Processes that follow the log each start this worker; only the one holding the
`replication-worker` lease works.
"""

import threading
from datetime import datetime, timezone
from uuid import UUID

import structlog

from commands.replication.executions import StartExecution
from domain.base import Actor
from domain.cron import due_tick, instant
from domain.errors import RegistryError
from domain.replication.execution import ERROR, PENDING, RUNNING, STOPPED, SUCCESS
from infra.replication.errors import RETRYABLE, ReplicationError
from workers.leased_worker import LeasedWorker
from workers.replication.follower import ChangeFollower
from workers.replication.metadata import ship_metadata
from workers.replication.planner import plan
from workers.replication.pull import pull_item
from workers.replication.push import Copied, push_item
from workers.replication.remote import client_for

log = structlog.get_logger("replication")
WORKER = Actor(name="replication-worker")
SCHEDULE = Actor(name="replication-schedule")
POLL_SECONDS = 0.25  # a round is a few indexed reads when nothing is new
STANDBY_SECONDS = 2.0


class ReplicationWorker(LeasedWorker):
    name = "replication-worker"
    poll_seconds = POLL_SECONDS
    standby_seconds = STANDBY_SECONDS

    def __init__(self, registry) -> None:
        super().__init__(registry, registry.settings.replication_concurrency)
        self.follower = ChangeFollower(registry)
        self._active: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    def setup(self) -> None:
        self.follower.setup()

    def round(self, wait: bool = False) -> None:
        """One pass; `wait` runs the tasks in this thread (tests)."""
        self.registry.execution_projector.catch_up()
        if self.follower.poll() or self._schedule():
            self.registry.execution_projector.catch_up()
        for row in self.registry.executions.running():
            self._advance(row.execution_key, wait)

    # -- scheduled policies ---------------------------------------------------------------

    def _schedule(self, now: datetime | None = None) -> int:
        now = now or datetime.now(timezone.utc)
        started = 0
        for policy_id, policy in self.registry.replication.current().policies.items():
            if policy["trigger"] != "scheduled" or not policy["enabled"] or not policy["cron"]:
                continue
            since = instant(policy["updated"])
            last = self.registry.executions.last_scheduled(policy_id)
            if last:
                since = max(since, instant(last))
            tick = due_tick(policy["cron"], since, now)
            if tick is None:
                continue
            try:
                self.registry.execution_commands.start(StartExecution(
                    policy_id, "scheduled", SCHEDULE, tick=tick.isoformat()),
                    active=self.registry.executions.active_count(policy_id))
                started += 1
            except RegistryError as refusal:
                log.info("scheduled replication skipped", policy_id=policy_id, reason=refusal.message)
        return started

    # -- executions -------------------------------------------------------------------------

    def _advance(self, key: str, wait: bool) -> None:
        commands = self.registry.execution_commands
        execution = commands.load(key)
        if execution is None or execution.ended:
            return
        if not execution.planned and not execution.stopping:
            self._plan(UUID(key), execution)
            self.registry.execution_projector.catch_up()
            execution = commands.load(key)
            if execution is None or execution.ended:
                return
        for task_no, task in sorted(execution.tasks.items()):
            if task["status"] not in (PENDING, RUNNING):
                continue
            with self._lock:
                if (key, task_no) in self._active:
                    continue
                if not wait and len(self._active) >= self.settings.replication_concurrency:
                    return
                self._active.add((key, task_no))
            if wait:
                self._guarded(key, task_no)
            else:
                self._pool.submit(self._guarded, key, task_no)

    def _endpoint(self, execution) -> dict | None:
        policy = execution.policy
        return self.registry.replication.current().registries.get(policy["src_registry_id"] or policy["dest_registry_id"])

    def _plan(self, key: UUID, execution) -> None:
        commands = self.registry.execution_commands
        endpoint = self._endpoint(execution)
        if endpoint is None:
            commands.fail(key, "the policy's registry was removed", WORKER)
            return
        try:
            with client_for(self.registry, endpoint, timeout=30.0) as client:
                tasks = plan(self.registry, execution, endpoint, client)
        except (ReplicationError, RegistryError, LookupError) as error:
            commands.fail(key, f"listing what to replicate: {_reason(error)}", WORKER)
            return
        commands.plan(key, tasks, WORKER)

    def _guarded(self, key: str, task_no: int) -> None:
        try:
            self.run_task(UUID(key), task_no)
        except Exception:
            log.exception("replication task failed unexpectedly", execution=key, task=task_no)
            self.registry.execution_commands.end_task(UUID(key), task_no, ERROR, "internal error (see the server log)",
                                                      1, {}, [], WORKER)
        finally:
            with self._lock:
                self._active.discard((key, task_no))
            self.registry.catch_up_reads()
            self._wake.set()

    def run_task(self, key: UUID, task_no: int) -> None:
        commands = self.registry.execution_commands
        execution = commands.load(key)
        if execution is None or execution.ended:
            return
        task = execution.tasks[task_no]
        if task["status"] == PENDING and not commands.start_task(key, task_no, WORKER):
            return
        self.registry.catch_up_reads()
        policy = execution.policy
        endpoint = self._endpoint(execution)
        copied, lines = Copied(), [f"{_now()} {task['operation']} {task['src_resource']} -> {task['dst_resource']}"]
        if endpoint is None:
            commands.end_task(key, task_no, ERROR, "the policy's registry was removed", 0, {}, lines, WORKER)
            return

        def stopping() -> bool:
            current = commands.load(key)
            return self._stopping.is_set() or current is None or current.stopping

        status, reason, attempts = SUCCESS, "", 0
        work = task["work"]
        with client_for(self.registry, endpoint, speed_kb=policy.get("speed", 0)) as client:
            for item in work["items"]:
                outcome, why, tries = self._item(client, endpoint, execution, task, item, copied, lines, stopping)
                attempts = max(attempts, tries)
                if outcome != SUCCESS:
                    status, reason = outcome, why
                    break
        if status == SUCCESS and stopping():
            status, reason = STOPPED, "stopped"
        if self._stopping.is_set() and status != SUCCESS:
            return  # this process stops: the task stays Running, the next holder runs it again
        if task["operation"] == "metadata":
            lines.append(f"{_now()} {status}: {copied.events.get('applied', 0)} events applied, "
                         f"{copied.events.get('skipped', 0)} already there" + (f"; {reason}" if reason else ""))
        else:
            lines.append(f"{_now()} {status}: {copied.manifests} manifests, {copied.blobs} blobs ({copied.bytes} "
                         f"bytes) copied, {copied.skipped} already there" + (f"; {reason}" if reason else ""))
        commands.end_task(key, task_no, status, reason, max(attempts, 1), copied.as_dict(), lines, WORKER)

    def _item(self, client, endpoint, execution, task, item, copied, lines, stopping) -> tuple[str, str, int]:
        policy = execution.policy
        work = task["work"]
        attempts = policy.get("retry_attempts", 3)
        for attempt in range(1, attempts + 1):
            if stopping():
                return STOPPED, "stopped", attempt - 1
            try:
                if task["operation"] == "metadata":
                    conflicts = ship_metadata(self.registry, endpoint, policy["id"], policy, item["through"],
                                              copied.events, lines, stopping)
                    if conflicts:
                        return ERROR, (f"{len(conflicts)} events conflicted with changes made on "
                                       f"{endpoint['name']} itself (see the log)"), attempt
                elif task["operation"] == "deletion":
                    self._delete(client, work["destination"], item, lines)
                elif policy["src_registry_id"]:
                    pull_item(self.registry, client, work["repository"], work["destination"], item["tag"], policy,
                              copied, lines, stopping, WORKER)
                else:
                    push_item(self.registry, client, endpoint, work["repository"], work["destination"], item,
                              policy, copied, lines, stopping)
                return SUCCESS, "", attempt
            except RETRYABLE as error:
                lines.append(f"{_now()} attempt {attempt} of {attempts}: {_reason(error)}")
                if attempt == attempts:
                    return ERROR, f"{_reason(error)} (after {attempts} attempts)", attempt
                self._stopping.wait(policy.get("retry_backoff_seconds", 2.0) * 2 ** (attempt - 1))
            except (ReplicationError, RegistryError, LookupError) as error:
                lines.append(f"{_now()} {_reason(error)}")
                return ERROR, _reason(error), attempt
        return ERROR, "no attempt left", attempts

    def _delete(self, client, destination: str, item: dict, lines: list[str]) -> None:
        if item.get("tag"):
            try:
                gone = client.delete_tag(destination, item["tag"])
                lines.append(f"{destination}:{item['tag']} " + ("deleted" if gone else "was not there"))
                return
            except ReplicationError as error:  # a registry that deletes manifests only
                lines.append(f"{destination}:{item['tag']} not deleted: {_reason(error)}")
                return
        gone = client.delete_manifest(destination, item["digest"])
        lines.append(f"{destination}@{item['digest']} " + ("deleted" if gone else "was not there"))


def _reason(error: Exception) -> str:
    return getattr(error, "message", None) or str(error) or type(error).__name__


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

