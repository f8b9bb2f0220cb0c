"""One execution of a retention policy: started, a result per repository, then an end.

A dry run records what it would delete and deletes nothing; it may be
evaluated against a past log position (`at_position`). A stop request is an
event too, so a run in another process sees it when it next saves.
"""

from uuid import UUID, uuid4

from domain.base import Actor, RegistryAggregate
from domain.errors import BadRequest
from domain.names import stream_id

RUNNING, SUCCESS, ERROR, STOPPED = "Running", "Success", "Error", "Stopped"


def scheduled_run_id(policy_id: int, tick: str) -> UUID:
    """One run per policy and cron tick, whichever process starts it first."""
    return stream_id("retention-run", str(policy_id), tick)


class RetentionRun(RegistryAggregate):
    class Started(RegistryAggregate.Created):
        """A retention run began under one version of a project's policy."""

        project: str
        policy_id: int
        policy_version: int
        policy: dict
        dry_run: bool
        trigger: str  # MANUAL | SCHEDULE
        at_position: int | None  # evaluated against this past log position (dry runs only)
        scheduled_for: str | None  # the cron tick a scheduled run stands for

    class TaskRecorded(RegistryAggregate.Event):
        """One repository was evaluated (and, unless a dry run, its deletions done).

        `items` holds one `[digest, tags, pushed_at, pulled_at, action, rule, reason]` per
        artifact; action is retain, delete (done, or would be in a dry run) or skip.
        """

        project: str
        repository: str
        started_at: str
        total: int
        retained: int
        deleted: int
        skipped: int
        items: list

        def apply(self, run: "RetentionRun") -> None:
            run.tasks += 1

    class StopRequested(RegistryAggregate.Event):
        """Someone asked the run to stop after the repository it is working on."""

        project: str

        def apply(self, run: "RetentionRun") -> None:
            run.stop_requested = True

    class Finished(RegistryAggregate.Event):
        """The run ended: Success, or Stopped when a stop was requested."""

        project: str
        status: str
        repositories: int

        def apply(self, run: "RetentionRun") -> None:
            run.status = self.status

    class Failed(RegistryAggregate.Event):
        """The run ended early on an error (or its process died)."""

        project: str
        reason: str

        def apply(self, run: "RetentionRun") -> None:
            run.status = ERROR

    def __init__(self, project: str, policy_id: int, policy_version: int, policy: dict, dry_run: bool,
                 trigger: str, at_position: int | None, scheduled_for: str | None) -> None:
        self.project = project
        self.policy_id = policy_id
        self.dry_run = dry_run
        self.status = RUNNING
        self.stop_requested = False
        self.tasks = 0

    @classmethod
    def start(cls, project: str, policy_id: int, policy_version: int, policy: dict, dry_run: bool,
              trigger: str, at_position: int | None, scheduled_for: str | None, actor: Actor,
              run_id: UUID | None = None) -> "RetentionRun":
        if at_position is not None and not dry_run:
            raise BadRequest("at: only a dry run can be evaluated against the past", {"field": "at"})
        return cls._create(cls.Started, id=run_id or uuid4(), project=project, policy_id=policy_id,
                           policy_version=policy_version, policy=policy, dry_run=dry_run, trigger=trigger,
                           at_position=at_position, scheduled_for=scheduled_for, **actor.fields())

    def record_task(self, repository: str, started_at: str, items: list, actor: Actor) -> None:
        actions = [item[4] for item in items]
        self.trigger_event(self.TaskRecorded, project=self.project, repository=repository,
                           started_at=started_at, total=len(items), retained=actions.count("retain"),
                           deleted=actions.count("delete"), skipped=actions.count("skip"), items=items,
                           **actor.fields())

    def request_stop(self, actor: Actor) -> None:
        if self.status == RUNNING and not self.stop_requested:
            self.trigger_event(self.StopRequested, project=self.project, **actor.fields())

    def finish(self, actor: Actor) -> None:
        if self.status == RUNNING:
            self.trigger_event(self.Finished, project=self.project,
                               status=STOPPED if self.stop_requested else SUCCESS,
                               repositories=self.tasks, **actor.fields())

    def fail(self, reason: str, actor: Actor) -> None:
        if self.status == RUNNING:
            self.trigger_event(self.Failed, project=self.project, reason=reason[:500], **actor.fields())
