"""One webhook delivery job: one event, one policy, one target, and every attempt at it.

The job itself (which event, which policy and target) is derived from the log by
the dispatcher; this stream records what happened to it. Its id is a uuid5 of
(policy, event id, target, replay), so a job is recorded once however often the
dispatcher runs.

Retry contract (see docs/adr/0008-webhooks.md): an attempt succeeds on a 2xx
answer. Network errors, timeouts, 408, 425, 429 and 5xx answers are retried
after base * 2^(n-1) seconds (capped), up to `max_attempts` attempts in all;
any other answer, or an address that resolves to a refused network, gives up
at once. An explicit retry request grants a fresh budget of attempts.
"""

import random

from domain.base import Actor, RegistryAggregate
from domain.errors import Conflict
from domain.names import stream_id

RETRYABLE_STATUS = {408, 425, 429}


def delivery_key(policy_key: str, event_id: str, target_index: int, replay: int = 0):
    """The job's stream: the event id is the idempotency key."""
    return stream_id("webhook-delivery", str(policy_key), event_id, str(target_index), str(replay))


def retryable(status_code: int) -> bool:
    """Whether an answer (0: no answer at all) is worth another attempt."""
    return status_code == 0 or status_code >= 500 or status_code in RETRYABLE_STATUS


def backoff(attempt: int, base: float, cap: float, jitter: float = 0.1) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based)."""
    delay = min(cap, base * (2 ** (attempt - 1)))
    return delay * (1 + random.uniform(-jitter, jitter))


class WebhookDelivery(RegistryAggregate):
    class Started(RegistryAggregate.Created):
        """Delivery of an event to one target of a policy began (its first attempt follows)."""

        project: str
        policy_id: int
        policy_key: str
        job_id: int
        event_id: str
        position: int
        event_type: str
        notify_type: str
        address: str

    class Delivered(Started):
        """The job's first attempt succeeded: the job, that attempt and its success in one
        event, since nearly every delivery goes this way (one record instead of three)."""

        status_code: int
        duration_ms: int

        def apply(self, job: "WebhookDelivery") -> None:
            job.attempts = 1
            job.status = "success"

    class Attempted(RegistryAggregate.Event):
        """One attempt was made: the status code (0 when there was no answer), or the error."""

        attempt: int
        status_code: int
        error: str
        duration_ms: int

        def apply(self, job: "WebhookDelivery") -> None:
            job.attempts = self.attempt

    class Succeeded(RegistryAggregate.Event):
        """The target accepted the event."""

        attempt: int
        status_code: int

        def apply(self, job: "WebhookDelivery") -> None:
            job.status = "success"

    class Failed(RegistryAggregate.Event):
        """An attempt failed; the next one is due at `retry_at` (epoch seconds)."""

        attempt: int
        error: str
        retry_at: float

        def apply(self, job: "WebhookDelivery") -> None:
            job.status = "scheduled"

    class GaveUp(RegistryAggregate.Event):
        """No more attempts will be made (limit reached, or a failure not worth retrying)."""

        attempts: int
        error: str

        def apply(self, job: "WebhookDelivery") -> None:
            job.status = "error"

    class RetryRequested(RegistryAggregate.Event):
        """Someone asked for the job to be sent again, with a fresh budget of attempts."""

        after_attempt: int

        def apply(self, job: "WebhookDelivery") -> None:
            job.status = "pending"
            job.budget_from = self.after_attempt

    def __init__(self, project: str, policy_id: int, policy_key: str, job_id: int, event_id: str,
                 position: int, event_type: str, notify_type: str, address: str) -> None:
        self.project = project
        self.policy_id = policy_id
        self.job_id = job_id
        self.attempts = 0
        self.budget_from = 0
        self.status = "running"

    @classmethod
    def start(cls, key, job: dict) -> "WebhookDelivery":
        return cls._create(cls.Started, id=key, **job, actor="system", client_ip="", request_id="")

    @classmethod
    def delivered(cls, key, job: dict, status_code: int, duration_ms: int) -> "WebhookDelivery":
        """A new job whose first attempt succeeded."""
        return cls._create(cls.Delivered, id=key, **job, status_code=status_code,
                           duration_ms=duration_ms, actor="system", client_ip="", request_id="")

    def record(self, status_code: int, error: str, duration_ms: int, max_attempts: int,
               base: float, cap: float, now: float) -> None:
        """Record one attempt and what follows from it under the retry contract."""
        attempt = self.attempts + 1
        self.trigger_event(self.Attempted, attempt=attempt, status_code=status_code,
                           error=error[:500], duration_ms=duration_ms, **_system())
        if 200 <= status_code < 300:
            self.trigger_event(self.Succeeded, attempt=attempt, status_code=status_code, **_system())
        elif not retryable(status_code) or attempt - self.budget_from >= max_attempts:
            why = error or f"HTTP {status_code}"
            if retryable(status_code):
                why = f"{why} (attempt {attempt - self.budget_from} of {max_attempts})"
            self.trigger_event(self.GaveUp, attempts=attempt, error=why[:500], **_system())
        else:
            wait = backoff(attempt - self.budget_from, base, cap)
            self.trigger_event(self.Failed, attempt=attempt, error=(error or f"HTTP {status_code}")[:500],
                               retry_at=round(now + wait, 3), **_system())

    def give_up(self, error: str) -> None:
        """Give up without an attempt (the policy or its target is gone, the address is refused)."""
        self.trigger_event(self.GaveUp, attempts=self.attempts, error=error[:500], **_system())

    def request_retry(self, actor: Actor) -> None:
        if self.status in ("running", "scheduled", "pending"):
            raise Conflict("the job is still being delivered", {"status": self.status})
        self.trigger_event(self.RetryRequested, after_attempt=self.attempts, **actor.fields())


def _system() -> dict:
    return {"actor": "system", "client_ip": "", "request_id": ""}
