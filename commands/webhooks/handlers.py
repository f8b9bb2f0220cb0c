"""Commands for webhook policies and their delivery jobs.

Auth headers are sealed here, before the event is made (infra/auth/secrets.py): the
events and the views hold only sealed values. The redaction marker sent back by a
form keeps the stored (sealed) value.

Delivery jobs are written without going through the aggregate cache: there are
many of them, each touched a few times, and they must not push the registry's
hot aggregates (tags, manifests, quotas) out of it.
"""

from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.application import project_aggregate
from eventsourcing.persistence import IntegrityError, RecordConflictError

from commands.application import RegistryApplication
from commands.retries import retried
from commands.artifacts.messages import Outcome
from infra.auth.secrets import key_id_of
from domain.base import Actor
from domain.errors import NotFound
from domain.project import Project, project_id
from domain.webhooks.policy import WebhookPolicy, policy_key
from domain.webhooks.targets import REDACTED, PolicySpec, check_spec
from domain.webhooks.delivery import WebhookDelivery


class CreatePolicy(msgspec.Struct, frozen=True):
    project: str
    project_id: int  # the project's incarnation (Harbor's project_id)
    spec: PolicySpec
    allow_link_local: bool
    actor: Actor


class UpdatePolicy(msgspec.Struct, frozen=True):
    project: str
    project_id: int
    name: str
    spec: PolicySpec
    allow_link_local: bool
    actor: Actor


class DeletePolicy(msgspec.Struct, frozen=True):
    project: str
    project_id: int
    name: str
    actor: Actor


class ReplayPolicy(msgspec.Struct, frozen=True):
    project: str
    project_id: int
    name: str
    from_position: int
    actor: Actor


class ResealPolicy(msgspec.Struct, frozen=True):
    """Seal a policy's auth headers with the newest key (rotation; clear headers of older
    versions). `only_clear`: leave values already sealed, with any key, alone."""

    policy_key: str
    actor: Actor
    only_clear: bool = False


class RetryJob(msgspec.Struct, frozen=True):
    job_key: str
    actor: Actor


class AttemptResult(msgspec.Struct, frozen=True):
    """What the sender saw for one job: an answer (status code), an error, or a refusal."""

    job_key: str
    job: dict | None  # the Started fields when this is the job's first record, else None
    status_code: int = 0
    error: str = ""
    duration_ms: int = 0
    give_up: bool = False  # no attempt was made (policy or target gone, address refused)


class RetryContract(msgspec.Struct, frozen=True):
    max_attempts: int
    base_seconds: float
    cap_seconds: float


AUTH_HEADER = "webhook auth header"  # the purpose sealed values of this field are bound to


def load_uncached(app: RegistryApplication, key) -> Any | None:
    """The aggregate from its stored events, leaving the aggregate cache alone."""
    return project_aggregate(None, app.events.get(key))


class WebhookCommands:
    """Policies live in the registry's log (`app`), delivery jobs in their own (`deliveries`);
    `secrets` seals auth headers (infra/auth/secrets.py: `seal`, `open`, `load`)."""

    def __init__(self, app: RegistryApplication, deliveries: Any, secrets: Any) -> None:
        self.app = app
        self.deliveries = deliveries
        self.secrets = secrets

    def _sealed(self, spec: PolicySpec) -> PolicySpec:
        targets = [t if not t.auth_header or t.auth_header == REDACTED else
                   msgspec.structs.replace(t, auth_header=self.secrets.seal(t.auth_header, AUTH_HEADER))
                   for t in spec.targets]
        return msgspec.structs.replace(spec, targets=targets)

    def _project(self, name: str) -> None:
        project = self.app.find(project_id(name), Project)
        if project is None or project.deleted:
            raise NotFound("project not found", {"project": name})

    def _policy(self, project: str, incarnation: int, name: str) -> WebhookPolicy:
        policy = self.app.find(policy_key(project, incarnation, name), WebhookPolicy)
        if policy is None or policy.deleted:
            raise NotFound("webhook policy not found", {"name": name})
        return policy

    def _save(self, aggregate) -> Outcome:
        recordings = self.app.save(aggregate)
        return Outcome(position=recordings[0].notification.id if recordings else None)

    @retried
    def create_policy(self, c: CreatePolicy) -> Outcome:
        """Outcome.position is the new policy's id."""
        self._project(c.project)
        spec = self._sealed(check_spec(c.spec, c.allow_link_local))
        policy = self.app.find(policy_key(c.project, c.project_id, spec.name), WebhookPolicy)
        if policy is None:
            policy = WebhookPolicy.create(c.project, c.project_id, spec, c.actor)
        else:
            policy.recreate(spec, c.actor)
        return self._save(policy)

    @retried
    def update_policy(self, c: UpdatePolicy) -> Outcome:
        from domain.errors import BadRequest

        policy = self._policy(c.project, c.project_id, c.name)
        spec = self._sealed(check_spec(c.spec, c.allow_link_local))
        if spec.name != policy.name:
            raise BadRequest("name: a policy's name is its identity and cannot change; create a "
                             "policy with the new name and delete this one", {"field": "name"})
        self._reseal(policy, True, c.actor)  # a kept header of an older version is not copied in clear
        policy.update(spec, c.actor)
        return self._save(policy)

    @retried
    def delete_policy(self, c: DeletePolicy) -> Outcome:
        policy = self._policy(c.project, c.project_id, c.name)
        policy.delete(c.actor)
        return self._save(policy)

    @retried
    def replay_policy(self, c: ReplayPolicy) -> Outcome:
        """Record a replay request up to the newest event; Outcome.size is that position."""
        policy = self._policy(c.project, c.project_id, c.name)
        head = self.app.head()
        policy.replay(c.from_position, head, c.actor)
        outcome = self._save(policy)
        return Outcome(position=outcome.position, size=head)

    @retried
    def reseal_policy(self, c: ResealPolicy) -> Outcome:
        """Outcome.position is None when every header was sealed as asked already."""
        policy = self.app.find(UUID(c.policy_key), WebhookPolicy)
        if policy is None or policy.deleted:
            return Outcome(position=None)
        self._reseal(policy, c.only_clear, c.actor)
        return self._save(policy)

    def _reseal(self, policy: WebhookPolicy, only_clear: bool, actor: Actor) -> None:
        current = self.secrets.keyring().current

        def resealed(header: str) -> str:
            kid = key_id_of(header)
            if not header or kid == current or (only_clear and kid is not None):
                return header
            return self.secrets.seal(self.secrets.open(header, AUTH_HEADER), AUTH_HEADER)

        targets = [{**t, "auth_header": resealed(t.get("auth_header", ""))} for t in policy.targets]
        policy.reseal(targets, current, actor)

    @retried
    def retry_job(self, c: RetryJob) -> Outcome:
        """Outcome.position is a position in the delivery log."""
        job = load_uncached(self.deliveries, UUID(c.job_key))
        if job is None:
            raise NotFound("the job has not been attempted yet", {"job": c.job_key})
        job.request_retry(c.actor)
        return Outcome(position=self._position(self._put(list(job.collect_events()))))

    def record_attempts(self, results: list[AttemptResult], contract: RetryContract,
                        now: float) -> int | None:
        """Record a batch of attempts in one transaction (one by one, from fresh loads, if
        another writer got to one of the jobs first); return the newest delivery-log position."""
        try:
            events = [e for r in results for e in self._attempt_events(r, contract, now, True)]
            return self._position(self._put(events))
        except (RecordConflictError, IntegrityError):
            positions = [self._record_one(result, contract, now) for result in results]
            return max((p for p in positions if p is not None), default=None)

    @retried
    def _record_one(self, result: AttemptResult, contract: RetryContract, now: float) -> int | None:
        events = self._attempt_events(result, contract, now, False)
        return self._position(self._put(events)) if events else None

    def _attempt_events(self, r: AttemptResult, contract: RetryContract, now: float,
                        trust_new: bool) -> list:
        """The events of one result; a job the sender saw as never attempted is not loaded
        first unless `trust_new` is off (the save fails if it was, and is redone without)."""
        key = UUID(r.job_key)
        job = None if trust_new and r.job is not None else load_uncached(self.deliveries, key)
        if job is None:
            if r.job is None:
                return []
            if not r.give_up and 200 <= r.status_code < 300:
                job = WebhookDelivery.delivered(key, r.job, r.status_code, r.duration_ms)
                return list(job.collect_events())
            job = WebhookDelivery.start(key, r.job)
        if r.give_up:
            job.give_up(r.error)
        elif job.status in ("running", "scheduled", "pending"):
            job.record(r.status_code, r.error, r.duration_ms, contract.max_attempts,
                       contract.base_seconds, contract.cap_seconds, now)
        return list(job.collect_events())

    def _put(self, events: list) -> list:
        """Store delivery events as they are: no aggregate cache, no per-object protocol checks
        (`Application.save` spends more time on those than on storing at this volume)."""
        return self.deliveries.events.put(events) if events else []

    @staticmethod
    def _position(recordings) -> int | None:
        return max((r.notification.id for r in recordings), default=None)
