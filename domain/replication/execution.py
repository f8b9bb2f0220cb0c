"""A replication execution: one run of a policy, its tasks (one per repository and
operation), and how each ended (Harbor's execution and task, with its statuses).

The execution is Running from its start until every task has ended; it then ends Success,
Error (a task failed, or planning did) or Stopped (asked to stop). A task is Pending,
Running, then Success, Error or Stopped. Ids shown in the API are the log positions of the
Started and TaskPlanned events (the views map them).
"""

from domain.base import Actor, RegistryAggregate
from domain.errors import Conflict

RUNNING, SUCCESS, ERROR, STOPPED, PENDING = "Running", "Success", "Error", "Stopped", "Pending"
TASK_ENDS = (SUCCESS, ERROR, STOPPED)
MAX_LOG_LINES = 400


class ReplicationExecution(RegistryAggregate):
    class Started(RegistryAggregate.Created):
        """A policy began to run (by hand, on its schedule, or for changes in the log)."""

        policy_id: int
        policy_name: str
        trigger: str  # manual | scheduled | event_based
        policy: dict  # the policy's fields as they were when it started
        resources: list  # event_based: [{"repository", "digest", "tag", "operation"}]; else []
        log_from: int  # event_based: the log range it covers; 0 otherwise
        log_to: int
        endpoint: dict  # the other registry as it was: name, type, url, credential type (no secret)

    class TaskPlanned(RegistryAggregate.Event):
        task_no: int
        operation: str  # copy | deletion
        resource_type: str
        src_resource: str
        dst_resource: str
        work: dict  # what the task copies or deletes: {"repository", "destination", "items": [...]}

        def apply(self, e: "ReplicationExecution") -> None:
            e.tasks[self.task_no] = {"status": PENDING, "operation": self.operation, "work": self.work,
                                     "src_resource": self.src_resource, "dst_resource": self.dst_resource,
                                     "resource_type": self.resource_type, "attempts": 0}

    class Planned(RegistryAggregate.Event):
        """Every task is known."""

        total: int

        def apply(self, e: "ReplicationExecution") -> None:
            e.planned = True

    class TaskStarted(RegistryAggregate.Event):
        task_no: int

        def apply(self, e: "ReplicationExecution") -> None:
            e.tasks[self.task_no]["status"] = RUNNING

    class TaskEnded(RegistryAggregate.Event):
        task_no: int
        status: str
        reason: str
        attempts: int
        copied: dict  # {"manifests", "blobs", "bytes", "skipped"}
        log: list[str]

        def apply(self, e: "ReplicationExecution") -> None:
            e.tasks[self.task_no].update(status=self.status, attempts=self.attempts)

    class StopRequested(RegistryAggregate.Event):
        def apply(self, e: "ReplicationExecution") -> None:
            e.stopping = True
            for task in e.tasks.values():
                if task["status"] == PENDING:
                    task["status"] = STOPPED

    class Ended(RegistryAggregate.Event):
        status: str
        status_text: str

        def apply(self, e: "ReplicationExecution") -> None:
            e.status = self.status

    def __init__(self, policy_id: int, policy_name: str, trigger: str, policy: dict, resources: list,
                 log_from: int, log_to: int, endpoint: dict) -> None:
        self.policy_id = policy_id
        self.policy_name = policy_name
        self.trigger = trigger
        self.policy = policy
        self.resources = resources
        self.log_from, self.log_to = log_from, log_to
        self.endpoint = endpoint
        self.tasks: dict[int, dict] = {}
        self.planned = False
        self.stopping = False
        self.status = RUNNING

    @classmethod
    def start(cls, execution_id, policy_id: int, policy: dict, trigger: str, actor: Actor,
              resources: list | None = None, log_from: int = 0, log_to: int = 0,
              endpoint: dict | None = None) -> "ReplicationExecution":
        return cls._create(cls.Started, id=execution_id, policy_id=policy_id, policy_name=policy["name"],
                           trigger=trigger, policy=policy, resources=resources or [], log_from=log_from,
                           log_to=log_to, endpoint=endpoint or {}, **actor.fields())

    @property
    def ended(self) -> bool:
        return self.status != RUNNING

    def plan(self, tasks: list[dict], actor: Actor) -> None:
        """Record the tasks (each: operation, resource_type, src_resource, dst_resource, work)."""
        if self.planned or self.ended:
            return
        for number, task in enumerate(tasks, start=1):
            self.trigger_event(self.TaskPlanned, task_no=number, **task, **actor.fields())
        self.trigger_event(self.Planned, total=len(tasks), **actor.fields())
        self._end_if_done(actor)

    def start_task(self, task_no: int, actor: Actor) -> bool:
        """Mark a pending task running; False when it is not pending (stopped, done)."""
        if self.ended or self.stopping or self.tasks[task_no]["status"] != PENDING:
            return False
        self.trigger_event(self.TaskStarted, task_no=task_no, **actor.fields())
        return True

    def end_task(self, task_no: int, status: str, reason: str, attempts: int, copied: dict,
                 log: list[str], actor: Actor) -> None:
        task = self.tasks[task_no]
        if task["status"] in TASK_ENDS:
            return
        if self.stopping and status != SUCCESS:
            status = STOPPED
        self.trigger_event(self.TaskEnded, task_no=task_no, status=status, reason=reason[:2000],
                           attempts=attempts, copied=copied, log=log[-MAX_LOG_LINES:], **actor.fields())
        self._end_if_done(actor)

    def fail(self, reason: str, actor: Actor) -> None:
        """Planning failed: nothing was copied."""
        if not self.ended:
            self.trigger_event(self.Ended, status=ERROR, status_text=reason[:2000], **actor.fields())

    def stop(self, actor: Actor) -> None:
        if self.ended:
            raise Conflict("the execution has ended", {"status": self.status})
        if not self.stopping:
            self.trigger_event(self.StopRequested, **actor.fields())
        self._end_if_done(actor)

    def _end_if_done(self, actor: Actor) -> None:
        if self.ended or not (self.planned or self.stopping):
            return
        statuses = [t["status"] for t in self.tasks.values()]
        if any(s not in TASK_ENDS for s in statuses):
            return
        if self.stopping:
            status, text = STOPPED, "stopped"
        elif ERROR in statuses:
            status = ERROR
            text = f"{statuses.count(ERROR)} of {len(statuses)} tasks failed"
        else:
            status, text = SUCCESS, "" if statuses else "nothing to replicate"
        self.trigger_event(self.Ended, status=status, status_text=text, **actor.fields())

    def counts(self) -> dict:
        statuses = [t["status"] for t in self.tasks.values()]
        return {"total": len(statuses), "failed": statuses.count(ERROR), "succeed": statuses.count(SUCCESS),
                "in_progress": statuses.count(RUNNING) + statuses.count(PENDING),
                "stopped": statuses.count(STOPPED)}
