"""Runs retention policies: evaluate each repository in scope, delete what no rule keeps.

At most one run per policy at a time in a process (and none while the query
model shows another process running it). A run records its start, one task per
repository and its end as events; real deletions go through the same commands
as a user's, with a `cause` naming the run, the policy version and the rule.
Before each deletion the artifact's tags are read again: an artifact tagged or
untagged since it was evaluated is skipped, not deleted.
"""

import threading
import time
from collections import defaultdict
from datetime import datetime
from uuid import UUID

import msgspec
import structlog

from commands.artifacts.messages import DeleteManifest
from commands.retention_handlers import (
    EndRetentionRun, RecordRetentionTask, RequestRetentionStop, RunStarted, StartRetentionRun,
)
from domain.base import Actor
from domain.errors import Conflict, Denied, ManifestUnknown, RegistryError
from domain.immutability import ImmutableRule
from domain.retention.policy import PolicySpec
from domain.retention.evaluation import Candidate, Verdict, applicable, evaluate
from projections.retention_view import PolicyRow
from projections.times import stamp

log = structlog.get_logger("retention")
ALL = 1 << 40


def epoch(text: str | None) -> float | None:
    return datetime.fromisoformat(text).timestamp() if text else None


class RetentionRunner:
    def __init__(self, registry) -> None:
        self.registry = registry
        self._lock = threading.Lock()
        self._active: dict[int, UUID | None] = {}  # policy id -> its run in this process
        self._stops: dict[UUID, threading.Event] = {}
        self._threads: list[threading.Thread] = []

    # -- starting and stopping ------------------------------------------------------------

    def start(self, policy: PolicyRow, dry_run: bool, trigger: str, actor: Actor, *,
              at_position: int | None = None, scheduled_for: str | None = None, run_id: UUID | None = None,
              background: bool = True) -> int:
        """Record the run's start and execute it (in a thread unless told otherwise); return its id."""
        with self._lock:
            if policy.id in self._active or self.registry.retention.running(policy.id):
                raise Conflict("a run of this retention policy is in progress", {"policy": policy.id})
            self._active[policy.id] = None
        try:
            started = self.registry.retention_commands.start_run(StartRetentionRun(
                policy.project, policy.project_id, policy.id, dry_run, trigger, actor, at_position,
                scheduled_for, run_id))
            self.registry.catch_up_reads()
        except BaseException:
            self._release(policy.id, None)
            raise
        stop = threading.Event()
        with self._lock:
            self._active[policy.id] = started.run_id
            self._stops[started.run_id] = stop
        args = (policy, started, dry_run, at_position, actor, stop)
        if not background:
            self._execute(*args)
            return started.execution_id
        thread = threading.Thread(target=self._execute, args=args, name="retention-run", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return started.execution_id

    def stop(self, run_id: UUID, actor: Actor) -> None:
        """Ask a run to stop after the artifact it is deleting (recorded, so any process sees it)."""
        self.registry.retention_commands.request_stop(RequestRetentionStop(run_id, actor))
        with self._lock:
            stop = self._stops.get(run_id)
        if stop is not None:
            stop.set()

    def close_interrupted(self) -> None:
        """Runs still 'Running' at start-up died with their process: record that."""
        for row in self.registry.retention.running():
            if UUID(row.run) in self._stops:
                continue
            self.registry.retention_commands.end_run(EndRetentionRun(
                UUID(row.run), Actor(name="retention"), "interrupted: the process stopped during the run"))
            log.warning("marked an interrupted retention run as failed", execution=row.id)
        self.registry.catch_up()

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            for stop in self._stops.values():
                stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def wait(self, timeout: float = 60.0) -> None:
        """Wait for the runs started in this process (tests and the benchmark)."""
        for thread in list(self._threads):
            thread.join(timeout)

    def _release(self, policy_id: int, run_id: UUID | None) -> None:
        with self._lock:
            self._active.pop(policy_id, None)
            if run_id is not None:
                self._stops.pop(run_id, None)

    # -- one run ----------------------------------------------------------------------------

    def _execute(self, policy: PolicyRow, started: RunStarted, dry_run: bool, at_position: int | None,
                 actor: Actor, stop: threading.Event) -> None:
        commands = self.registry.retention_commands
        try:
            moment = self.moment_of(at_position)
            rules = self._immutable_rules(policy.project)
            rows, _ = self.registry.history.repositories(policy.project, 0, ALL, None, at_position)
            for repo in rows:
                path = repo.name.split("/", 1)[1]
                if not applicable(started.spec.rules, path):
                    continue
                task_start = stamp(datetime.now().astimezone())
                verdicts, times = self.evaluate(started.spec, repo.name, at_position, moment, rules)
                cause = {"retention_run": started.execution_id, "run": str(started.run_id),
                         "policy_id": policy.id, "policy_version": started.policy_version}
                items = [self._item(v, times, repo.name, dry_run, cause, actor, stop) for v in verdicts or []]
                saved = commands.record_task(RecordRetentionTask(started.run_id, repo.name, task_start, items,
                                                                 actor))
                if not dry_run:
                    self.registry.catch_up_reads()
                if saved.stop_requested or stop.is_set():
                    break
            commands.end_run(EndRetentionRun(started.run_id, actor))
        except Exception as error:
            log.exception("retention run failed", execution=started.execution_id)
            try:
                commands.end_run(EndRetentionRun(started.run_id, actor, f"{type(error).__name__}: {error}"))
            except Exception:
                log.exception("could not record the failed retention run", execution=started.execution_id)
        finally:
            try:  # the view shows the run ended before another run of the policy may start
                self.registry.catch_up_reads()
            except Exception:
                log.exception("catching up after a retention run failed")
            self._release(policy.id, started.run_id)
        log.info("retention run ended", execution=started.execution_id, dry_run=dry_run)

    def moment_of(self, position: int | None) -> float:
        """The evaluation instant: now, or the time of the log position a dry run looks at."""
        if position is None:
            return time.time()
        rows = self.registry.db.read("SELECT at FROM oci_event_times WHERE position <= ? "
                                     "ORDER BY position DESC LIMIT 1", (position,))
        return epoch(rows[0][0]) if rows else 0.0

    def _immutable_rules(self, project: str) -> list[ImmutableRule]:
        return [msgspec.convert(rule, ImmutableRule) for rule in self.registry.policies.immutable_rules(project)]

    def evaluate(self, spec: PolicySpec, repository: str, position: int | None, moment: float,
                 immutable: list[ImmutableRule]) -> tuple[list[Verdict] | None, dict]:
        """The verdicts for one repository as of `position` (None: now), and each digest's
        (pushed, pulled) times as stored."""
        history = self.registry.history
        rows, _ = history.artifacts(repository, 0, ALL, position)
        tags: dict[str, list[str]] = defaultdict(list)
        for tag in history.tags(repository, None, position):
            tags[tag.digest].append(tag.name)
        pulls = history.pull_times(repository)
        cutoff = stamp(datetime.fromtimestamp(moment).astimezone()) if position is not None else None
        children = {child for row in rows for child in row.children}
        candidates, times = [], {}
        for row in rows:
            if row.subject is not None or row.digest in children:
                continue  # accessories and an index's manifests go with what they belong to
            pulled = pulls.get(row.digest)
            if cutoff is not None and pulled is not None and pulled > cutoff:
                pulled = None  # only the last pull is kept: a later one says nothing about then
            times[row.digest] = (row.pushed_at, pulled)
            candidates.append(Candidate(row.digest, sorted(tags.get(row.digest, [])), epoch(row.pushed_at),
                                        epoch(pulled)))
        path = repository.split("/", 1)[1]

        def protected(tag: str) -> bool:
            return any(rule.protects(path, tag) for rule in immutable)
        return evaluate(spec.rules, path, candidates, moment, protected), times

    def _item(self, verdict: Verdict, times: dict, repository: str, dry_run: bool, cause: dict,
              actor: Actor, stop: threading.Event) -> list:
        pushed, pulled = times[verdict.digest]
        action, reason = verdict.action, verdict.reason
        if action == "delete" and not dry_run:
            action, reason = self._delete(repository, verdict, {**cause, "rule": verdict.rule,
                                                                "reason": verdict.reason}, actor, stop)
        return [verdict.digest, verdict.tags, pushed, pulled, action, verdict.rule, reason]

    def _delete(self, repository: str, verdict: Verdict, cause: dict, actor: Actor,
                stop: threading.Event) -> tuple[str, str]:
        if stop.is_set():
            return "skip", "the run was stopped"
        current = sorted(self.registry.queries.tags_of(repository, verdict.digest))
        if current != sorted(verdict.tags):
            return "skip", "its tags changed since it was evaluated"
        try:
            dependents = self.registry.queries.dependents(repository, verdict.digest)
            self.registry.commands.delete_manifest(DeleteManifest(repository, verdict.digest, current, actor,
                                                                  cause, dependents))
        except ManifestUnknown:
            return "skip", "already deleted"
        except Denied as refused:
            return "skip", refused.message
        except RegistryError as refused:
            return "skip", f"{refused.code}: {refused.message}"
        return "delete", verdict.reason
