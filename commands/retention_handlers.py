"""Handlers for tag retention: policy edits and the bookkeeping of runs.

A policy's id is the log position of the event that bound it to its project
(like a project's id); runs and their tasks are numbered the same way.
"""

from uuid import UUID

import msgspec

from commands.application import RegistryApplication
from commands.retries import retried
from commands.artifacts.messages import Outcome
from domain.base import Actor
from domain.errors import Conflict, NotFound
from domain.project import Project, project_id as project_stream
from domain.retention.policy import PolicySpec, RetentionPolicy, retention_id
from domain.retention.run import RetentionRun


class CreateRetentionPolicy(msgspec.Struct, frozen=True):
    project: str
    project_id: int
    spec: PolicySpec
    actor: Actor


class UpdateRetentionPolicy(msgspec.Struct, frozen=True):
    project: str
    project_id: int
    spec: PolicySpec
    actor: Actor


class DeleteRetentionPolicy(msgspec.Struct, frozen=True):
    project: str
    project_id: int
    actor: Actor


class StartRetentionRun(msgspec.Struct, frozen=True):
    project: str
    project_id: int
    policy_id: int
    dry_run: bool
    trigger: str  # MANUAL | SCHEDULE
    actor: Actor
    at_position: int | None = None
    scheduled_for: str | None = None
    run_id: UUID | None = None  # deterministic for scheduled runs


class RecordRetentionTask(msgspec.Struct, frozen=True):
    run_id: UUID
    repository: str
    started_at: str
    items: list
    actor: Actor


class EndRetentionRun(msgspec.Struct, frozen=True):
    run_id: UUID
    actor: Actor
    failure: str | None = None  # None: finished (Success, or Stopped if asked to stop)


class RequestRetentionStop(msgspec.Struct, frozen=True):
    run_id: UUID
    actor: Actor


class RunStarted(msgspec.Struct, frozen=True):
    run_id: UUID
    execution_id: int
    spec: PolicySpec
    policy_version: int


class TaskSaved(msgspec.Struct, frozen=True):
    position: int
    stop_requested: bool


class RetentionCommands:
    def __init__(self, app: RegistryApplication) -> None:
        self.app = app

    def _project(self, name: str) -> int:
        """The project's generation (its retention policy's stream is keyed by it)."""
        owner = self.app.find(project_stream(name), Project)
        if owner is None or owner.deleted:
            raise NotFound("project not found", {"project": name})
        return owner.generation

    def _policy(self, project: str, project_id: int) -> RetentionPolicy:
        policy = self.app.find(retention_id(project, self._project(project)), RetentionPolicy)
        if policy is None or not policy.bound_to(project_id):
            raise NotFound("retention policy not found", {"project": project})
        return policy

    def _run(self, run_id: UUID) -> RetentionRun:
        run = self.app.find(run_id, RetentionRun)
        if run is None:
            raise NotFound("retention execution not found", {"run": str(run_id)})
        return run

    @retried
    def create_policy(self, command: CreateRetentionPolicy) -> Outcome:
        """Bind a policy to a project; `size` of the outcome is the new policy's id."""
        generation = self._project(command.project)
        policy = self.app.find(retention_id(command.project, generation), RetentionPolicy)
        if policy is None:
            policy = RetentionPolicy.create(command.project, command.project_id, command.spec, command.actor,
                                            generation=generation)
        else:
            policy.recreate(command.project_id, command.spec, command.actor)
        recordings = self.app.save(policy)
        return Outcome(position=recordings[-1].notification.id, size=recordings[0].notification.id)

    @retried
    def update_policy(self, command: UpdateRetentionPolicy) -> Outcome:
        policy = self._policy(command.project, command.project_id)
        policy.update(command.spec, command.actor)
        recordings = self.app.save(policy)
        return Outcome(position=recordings[-1].notification.id, size=policy.policy_version)

    @retried
    def delete_policy(self, command: DeleteRetentionPolicy) -> Outcome:
        policy = self._policy(command.project, command.project_id)
        policy.delete(command.actor)
        recordings = self.app.save(policy)
        return Outcome(position=recordings[-1].notification.id)

    @retried
    def start_run(self, command: StartRetentionRun) -> RunStarted:
        """Record a run's start under the policy's current version (Conflict if that scheduled
        tick already has its run)."""
        self._project(command.project)
        policy = self._policy(command.project, command.project_id)
        if command.run_id is not None and self.app.find(command.run_id, RetentionRun) is not None:
            raise Conflict("this scheduled retention run was already started", {"run": str(command.run_id)})
        run = RetentionRun.start(command.project, command.policy_id, policy.policy_version,
                                 msgspec.to_builtins(policy.policy), command.dry_run, command.trigger,
                                 command.at_position, command.scheduled_for, command.actor, command.run_id)
        recordings = self.app.save(run)
        return RunStarted(run.id, recordings[0].notification.id, policy.policy, policy.policy_version)

    @retried
    def record_task(self, command: RecordRetentionTask) -> TaskSaved:
        run = self._run(command.run_id)
        run.record_task(command.repository, command.started_at, command.items, command.actor)
        recordings = self.app.save(run)
        return TaskSaved(recordings[-1].notification.id, run.stop_requested)

    @retried
    def end_run(self, command: EndRetentionRun) -> Outcome:
        run = self._run(command.run_id)
        if command.failure is None:
            run.finish(command.actor)
        else:
            run.fail(command.failure, command.actor)
        recordings = self.app.save(run)
        return Outcome(position=recordings[-1].notification.id if recordings else None)

    @retried
    def request_stop(self, command: RequestRetentionStop) -> Outcome:
        run = self._run(command.run_id)
        run.request_stop(command.actor)
        recordings = self.app.save(run)
        return Outcome(position=recordings[-1].notification.id if recordings else None)

    def stop_requested(self, run_id: UUID) -> bool:
        """Whether a stop was asked for (from any process)."""
        run = self.app.find(run_id, RetentionRun)
        return run is not None and run.stop_requested
