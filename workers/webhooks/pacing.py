"""Webhooks yield to the registry's own requests: while the API is answering, the sender may
use only a share of a core; when it is quiet, all it can.

One push can fan out to a hundred deliveries, each costing more CPU than a
share of the push itself. Unpaced, a burst of pushes would slow down; paced,
the deliveries wait and catch up when the burst is over. Under sustained load
the sender still gets its share (`webhook_busy_cpu_share`, a tenth of a core
by default: several hundred deliveries a second).

A token bucket over CPU time: every second of wall time adds `share` seconds of
CPU; the CPU the sender uses takes them out; while the bucket is in debt and a
request was answered within `BUSY_SECONDS`, no new attempt starts (and, in the
webhook process, the dispatcher does not start its next round).

Where the sender shares the interpreter with the request handlers (`inline`),
its CPU is that of its own threads (`time.thread_time`, plus what its helper
threads report) and requests are observed in-process. In the webhook process
of its own (`child`), its CPU is the whole process's, dispatcher included, and
requests are read from the host's activity file (infra/http/activity.py) that the
server marks on every answer.
"""

import asyncio
import threading
import time

from infra.http.activity import ActivityFile

BUSY_SECONDS = 0.25  # a request answered this recently means the API is busy
BURST_SECONDS = 0.02  # CPU the sender may spend ahead of its share


class CpuShare:
    def __init__(self, share: float, activity: ActivityFile | None = None,
                 whole_process: bool = False) -> None:
        self.share = share
        self.activity = activity
        self.whole_process = whole_process
        self.last_request = 0.0
        self._debt = 0.0  # CPU seconds spent beyond the share
        self._at = time.monotonic()
        self._cpu: float | None = None
        self._lock = threading.Lock()  # the sender's loop and the dispatcher's thread share it

    def observe_request(self, *_: object) -> None:
        """A request was answered (an observer of the request log middleware)."""
        self.last_request = time.monotonic()
        if self.activity is not None:
            self.activity.mark()

    def spent(self, seconds: float) -> None:
        """CPU used by one of the sender's helper threads (benign races: an estimate)."""
        if not self.whole_process:
            self._debt += seconds

    def sample(self) -> None:
        """Count the CPU used since the last sample."""
        now = time.process_time() if self.whole_process else time.thread_time()
        if self._cpu is not None:
            self._debt += now - self._cpu
        self._cpu = now

    def busy(self) -> bool:
        last = self.last_request
        if self.activity is not None:
            last = max(last, self.activity.last())
        return time.monotonic() - last < BUSY_SECONDS

    def _pause(self) -> float:
        """Seconds to wait before more work may start (0: go on)."""
        with self._lock:
            self.sample()
            now = time.monotonic()
            self._debt = max(0.0, self._debt - (now - self._at) * self.share)
            self._at = now
            if not self.busy():  # a quiet API owes nothing: sending flat out is not saved up
                self._debt = 0.0
                return 0.0
            if self._debt <= BURST_SECONDS:
                return 0.0
            return min(0.1, (self._debt - BURST_SECONDS) / self.share)

    async def wait_turn(self) -> None:
        """Return when the sender may start more work (from its event loop)."""
        if self.share >= 1.0:
            return
        while (pause := self._pause()) > 0:
            await asyncio.sleep(pause)

    def hold(self, stop: threading.Event) -> None:
        """Block until more work may start, or `stop` is set: for the dispatcher's thread in
        the webhook process, whose CPU the whole-process count includes (elsewhere it is
        not paced)."""
        if self.share >= 1.0 or not self.whole_process:
            return
        while (pause := self._pause()) > 0 and not stop.wait(pause):
            pass
