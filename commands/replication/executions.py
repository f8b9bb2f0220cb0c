"""Commands on replication executions (domain/replication/execution.py): start one, and what
the replication worker records as it goes (tasks planned, started, ended), and stop.

A manual execution gets a new stream; an event-based one is named by its policy and the log
range it covers, a scheduled one by its policy and tick, so two worker processes reaching
the same range or tick start it once (the second meets the existing stream).
"""

import uuid as uuids
from uuid import UUID

import msgspec
from eventsourcing.persistence import IntegrityError

from commands.application import RegistryApplication
from commands.artifacts.messages import Outcome
from commands.retries import retried
from domain.base import Actor
from domain.errors import BadRequest, Conflict, NotFound
from domain.names import stream_id
from domain.replication.execution import ReplicationExecution
from domain.replication.setup import SETUP_ID, ReplicationSetup


class StartExecution(msgspec.Struct, frozen=True):
    policy_id: int
    trigger: str
    actor: Actor
    resources: list = []
    log_from: int = 0
    log_to: int = 0
    tick: str = ""  # scheduled: the cron tick it runs for


def execution_key(c: StartExecution) -> UUID:
    if c.trigger == "event_based":
        return stream_id("replication-execution", str(c.policy_id), "log", str(c.log_from), str(c.log_to))
    if c.trigger == "scheduled" and c.tick:
        return stream_id("replication-execution", str(c.policy_id), "tick", c.tick)
    return uuids.uuid4()


class ExecutionCommands:
    def __init__(self, app: RegistryApplication) -> None:
        self.app = app

    def load(self, key: UUID | str) -> ReplicationExecution | None:
        return self.app.find(UUID(str(key)), ReplicationExecution)

    def _execution(self, key: UUID | str) -> ReplicationExecution:
        found = self.load(key)
        if found is None:
            raise NotFound("replication execution not found")
        return found

    def _save(self, execution: ReplicationExecution) -> Outcome:
        recordings = self.app.save(execution)
        return Outcome(position=recordings[-1].notification.id if recordings else None)

    def start(self, c: StartExecution, active: int = 0) -> tuple[UUID, Outcome]:
        """Record a new execution of a policy; (its stream id, outcome). `active`: how many of
        the policy's executions run now (single_active_replication refuses a second)."""
        setup = self.app.find(SETUP_ID, ReplicationSetup)
        if setup is None or c.policy_id not in setup.policies:
            raise BadRequest("policy_id: no replication policy has this id", {"field": "policy_id"})
        policy = setup.policies[c.policy_id]
        if not policy["enabled"] and c.trigger != "manual":
            raise Conflict("the replication policy is disabled", {"policy_id": c.policy_id})
        if policy.get("single_active_replication") and active:
            raise Conflict("the policy has an execution running and allows one at a time "
                           "(single_active_replication)", {"policy_id": c.policy_id})
        key = execution_key(c)
        remote = setup.registries.get(policy["src_registry_id"] or policy["dest_registry_id"], {})
        endpoint = {k: remote.get(k, "") for k in ("name", "type", "url", "credential_type")}
        execution = ReplicationExecution.start(key, c.policy_id, {**policy, "id": c.policy_id}, c.trigger, c.actor,
                                               c.resources, c.log_from, c.log_to, endpoint)
        try:
            return key, self._save(execution)
        except IntegrityError:  # another process started this range or tick first
            return key, Outcome()

    @retried
    def plan(self, key: UUID, tasks: list[dict], actor: Actor) -> Outcome:
        execution = self._execution(key)
        execution.plan(tasks, actor)
        return self._save(execution)

    @retried
    def start_task(self, key: UUID, task_no: int, actor: Actor) -> bool:
        execution = self._execution(key)
        if not execution.start_task(task_no, actor):
            return False
        self._save(execution)
        return True

    @retried
    def end_task(self, key: UUID, task_no: int, status: str, reason: str, attempts: int, copied: dict,
                 log: list[str], actor: Actor) -> Outcome:
        execution = self._execution(key)
        execution.end_task(task_no, status, reason, attempts, copied, log, actor)
        return self._save(execution)

    @retried
    def fail(self, key: UUID, reason: str, actor: Actor) -> Outcome:
        execution = self._execution(key)
        execution.fail(reason, actor)
        return self._save(execution)

    @retried
    def stop(self, key: UUID, actor: Actor) -> Outcome:
        execution = self._execution(key)
        execution.stop(actor)
        return self._save(execution)
