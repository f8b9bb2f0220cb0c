"""Delivers webhooks: follows the jobs the dispatcher derived from the log and sends them.

Three parts, each following the log from a tracked position:

- the dispatcher (`projections/webhooks/dispatch_view.py`, a Projector named
  `webhook_dispatch`) turns events into delivery jobs, in log order;
- this worker sends jobs that were never attempted and retries that are due,
  from its own thread (an asyncio loop with aiohttp), never on a request's path, and
  yielding to requests (workers/webhooks/pacing.py);
- every attempt and its outcome is recorded as events of the job's
  `WebhookDelivery` stream in the delivery log (commands/webhooks/log.py), which
  the `webhook_jobs` view turns into statuses.

After a restart the worker resumes from the views: a job with no recorded
attempt is sent, a job waiting for a retry is retried when due. A crash between
sending and recording sends that attempt again; receivers drop duplicates by
`X-Tidemark-Event-Id` (the idempotency key: the event's id). One process at a
time sends, under a lease (`workers/lease.py`).
"""

import asyncio
import threading
import time
from typing import Any

import structlog
import uvloop

from commands.webhooks.handlers import AUTH_HEADER, AttemptResult, RetryContract
from infra.http.activity import open_activity
from infra.auth.secrets import SecretUnavailable
from infra.messaging.webhook_payloads import render
from projections.webhooks.queries import JobRow, PolicyRow
from workers.lease import SqlLease
from workers.webhooks.pacing import CpuShare
from workers.webhooks.sender import Attempt, Sender
from workers.worker_status import WorkerStatus

log = structlog.get_logger("webhooks")

FLUSH_SECONDS = 0.05  # how long finished attempts may wait to be recorded together
MAX_UNRECORDED = 2000  # sending pauses while this many attempts wait to be recorded


class WebhookWorker:
    def __init__(self, registry: Any, poll_interval: float = 0.25) -> None:
        self.registry = registry
        settings = registry.settings
        self.external_url = registry.external_url
        self.concurrency = max(1, settings.webhook_concurrency)
        self.contract = RetryContract(settings.webhook_max_attempts, settings.webhook_retry_base_seconds,
                                      settings.webhook_retry_max_seconds)
        self.timeout = settings.webhook_timeout_seconds
        self.allow_link_local = settings.webhook_allow_link_local
        self.poll_interval = poll_interval
        self.lease = SqlLease(registry.webhook_db, "webhooks")
        # In a process of its own (`serve --role webhooks`) all of the process's CPU is the
        # sender's; requests answered by the server are seen through the host's activity file.
        self.pacing = CpuShare(settings.webhook_busy_cpu_share, open_activity(settings.data_path),
                               whole_process=settings.role == "webhooks")
        self.board = WorkerStatus(registry.db, "webhooks")
        self.state = "idle"  # idle | sending | standby | stopped
        self.sent = 0
        self._busy: set[str] = set()  # picked, not yet recorded (never picked twice)
        self._in_flight = 0  # requests under way (what `webhook_concurrency` bounds)
        self._results: list[AttemptResult] = []
        self._watermark: int | None = None  # newest job id handed out since holding the lease
        self._policy_cache: dict[str, PolicyRow | None] = {}
        self._policy_cache_at = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def start(self) -> None:
        """Follow the delivery log (job statuses) and send, in background threads."""
        if self._thread is not None and self._thread.is_alive():
            return
        self.registry.webhook_job_projector.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # uvloop: its transports cost a fraction of asyncio's per request (ADR 0008)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(self._main())

    def wake(self, *_: Any) -> None:
        """Called when the dispatcher created jobs (from any thread)."""
        loop, event = self._loop, self._wake
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None
        self.registry.webhook_job_projector.stop()
        self.state = "stopped"

    # -- the loop ---------------------------------------------------------------------------

    async def _main(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        sender = Sender(self.timeout, self.allow_link_local)
        recorder = asyncio.create_task(self._record_loop())
        tasks: set[asyncio.Task] = set()
        try:
            while not self._stop.is_set():
                self._wake.clear()  # before looking: a wake-up while we look is not lost
                try:
                    picked = await self._round(sender, tasks)
                except Exception as error:
                    if isinstance(error, RuntimeError) and "shutdown" in str(error):
                        return  # the interpreter is exiting: no more worker threads
                    log.exception("webhook round failed; will retry")
                    picked = 0
                if not picked:
                    try:
                        await asyncio.wait_for(self._wake.wait(), self.poll_interval)
                    except asyncio.TimeoutError:
                        pass
        finally:
            if tasks:
                await asyncio.wait(tasks, timeout=self.timeout + 1)
            recorder.cancel()
            await sender.close()
            try:
                await self._flush()
                if self.state == "sending":  # the status row is ours while we hold the lease
                    await asyncio.to_thread(self.board.report, "stopped", sent=self.sent)
                await asyncio.to_thread(self._release)
            except RuntimeError:
                log.warning("stopped at interpreter exit; unrecorded attempts will be sent again")

    async def _round(self, sender: Sender, tasks: set) -> int:
        """Hand out what is due, up to the free capacity; return how many jobs were picked."""
        if not await asyncio.to_thread(self.lease.acquire):
            self.state, self._watermark = "standby", None
            return 0
        if self.state != "sending":
            await asyncio.to_thread(self.board.report, "sending", concurrency=self.concurrency)
        self.state = "sending"
        await self.pacing.wait_turn()
        free = min(self.concurrency - self._in_flight, MAX_UNRECORDED - len(self._busy))
        if free <= 0:
            return 0
        jobs, policies, projects = await asyncio.to_thread(self._fetch, free)
        for job in jobs:
            self._busy.add(job.job_key)
            self._in_flight += 1
            task = asyncio.create_task(self._send(sender, job, policies.get(job.policy_key),
                                                  projects.get(job.project, (0, False))))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        return len(jobs)

    def _fetch(self, limit: int) -> tuple[list[JobRow], dict[str, PolicyRow], dict]:
        started = time.thread_time()
        try:
            return self._fetch_due(limit)
        finally:
            self.pacing.spent(time.thread_time() - started)

    def _fetch_due(self, limit: int) -> tuple[list[JobRow], dict[str, PolicyRow], dict]:
        queries = self.registry.webhook_queries
        if self._watermark is None:  # just took the lease: resume where the views say
            self.registry.webhook_job_projector.catch_up()
            self._watermark = queries.first_unstarted()
        due = [j for j in queries.due_jobs(int(time.time() * 1000), limit + len(self._busy))
               if j.job_key not in self._busy][:limit]
        fresh = queries.new_jobs(self._watermark, limit - len(due)) if len(due) < limit else []
        if fresh:
            self._watermark = fresh[-1].job_id
        jobs = due + fresh
        policies = self._policies({j.policy_key for j in jobs})
        if None in policies.values():  # gone, or only not in this process's view yet
            self.registry.webhook_policy_projector.catch_up()
            policies = self._policies(set(policies))
        projects = {}
        for name in {j.project for j in jobs}:
            row = self.registry.queries.project_by_key(name, True)
            projects[name] = (row.project_id, row.public) if row else (0, False)
        return jobs, policies, projects

    def _policies(self, keys: set[str]) -> dict[str, PolicyRow | None]:
        """Policies as the policy view has them now, cached while that view stands still."""
        position = self.registry.webhook_policy_projector.position()
        if position != self._policy_cache_at:
            self._policy_cache, self._policy_cache_at = {}, position
        missing = [k for k in keys if k not in self._policy_cache]
        for key in missing:
            self._policy_cache[key] = self.registry.webhook_queries.policy_by_key(key)
        return {key: self._policy_cache[key] for key in keys}

    async def _send(self, sender: Sender, job: JobRow, policy: PolicyRow | None,
                    project: tuple[int, bool]) -> None:
        try:
            try:
                result = await self._attempt(sender, job, policy, project)
            except Exception as error:  # a bug must not leave the job unrecorded (and stuck)
                log.exception("webhook attempt failed", job=job.job_id)
                result = AttemptResult(job.job_key, None if job.started_at else _started(job),
                                       0, f"internal error: {type(error).__name__}")
            self._results.append(result)  # the list now: a flush may have swapped it meanwhile
        finally:
            self._in_flight -= 1
            self._wake.set()  # a slot is free (this runs in the sender's loop)

    async def _attempt(self, sender: Sender, job: JobRow, policy: PolicyRow | None,
                       project: tuple[int, bool]) -> AttemptResult:
        started = None if job.started_at else _started(job)
        target = _target(policy, job)
        if target is None:
            why = "the policy was deleted" if policy is None else "the target was removed from the policy"
            return AttemptResult(job.job_key, started, error=why, give_up=True)
        body, content_type = render(job, job.data or {}, self.external_url, project[1], project[0])
        headers = {"Content-Type": content_type, "X-Tidemark-Event-Id": job.event_id,
                   "X-Tidemark-Event-Type": job.event_type, "X-Tidemark-Job-Id": str(job.job_id),
                   "X-Tidemark-Attempt": str(job.attempts + 1)}
        if target.get("auth_header"):
            try:  # opened here only, for this request; never logged nor recorded
                headers["Authorization"] = self.registry.secrets.open(target["auth_header"],
                                                                      AUTH_HEADER)
            except SecretUnavailable as error:  # never sent without the header it needs
                log.error("webhook not sent: its auth header cannot be opened", job=job.job_id,
                          error=str(error))
                return AttemptResult(job.job_key, started, error=f"not sent: {error}", give_up=True)
        attempt: Attempt = await sender.post(target["address"], body, headers,
                                             bool(target.get("skip_cert_verify")))
        self.sent += 1
        return AttemptResult(job.job_key, started, attempt.status_code, attempt.error,
                             attempt.duration_ms, give_up=attempt.refused)

    # -- recording --------------------------------------------------------------------------

    async def _record_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            await self._flush()

    async def _flush(self) -> None:
        if not self._results:
            return
        batch, self._results = self._results[:MAX_UNRECORDED], self._results[MAX_UNRECORDED:]
        try:
            await asyncio.to_thread(self._record, batch)
        except Exception:
            log.exception("recording webhook attempts failed; they will be sent again",
                          jobs=len(batch))
            self._watermark = None  # resend what was never attempted before
        finally:
            self._busy.difference_update(r.job_key for r in batch)
        self.wake()

    def _record(self, batch: list[AttemptResult]) -> None:
        started = time.thread_time()
        self.registry.webhooks.record_attempts(batch, self.contract, time.time())
        self.registry.webhook_job_projector.catch_up()
        self.pacing.spent(time.thread_time() - started)

    def _release(self) -> None:
        try:
            self.lease.release()
        except Exception:
            log.exception("could not release the webhook lease")

    def status(self) -> dict[str, Any]:
        return {"state": self.state, "in_flight": self._in_flight, "unrecorded": len(self._busy),
                "sent": self.sent}


def _target(policy: PolicyRow | None, job: JobRow) -> dict | None:
    """The policy's target this job was made for, as it is now (with its auth header)."""
    if policy is None:
        return None
    targets = policy.targets
    if job.target_index < len(targets) and targets[job.target_index]["address"] == job.address:
        return targets[job.target_index]
    return next((t for t in targets if t["address"] == job.address and t["type"] == job.notify_type),
                None)


def _started(job: JobRow) -> dict:
    """The facts a job's `Started` event records."""
    return {"project": job.project, "policy_id": job.policy_id, "policy_key": job.policy_key,
            "job_id": job.job_id, "event_id": job.event_id, "position": job.position,
            "event_type": job.event_type, "notify_type": job.notify_type, "address": job.address}
