"""Webhooks yield to the registry's own requests: while the API is answering, the sender may
use only a share of a core; when it is quiet, all it can.

The sender shares the interpreter (and its lock) with the request handlers, and
one push can fan out to a hundred deliveries, each costing more CPU than a
share of the push itself. Unpaced, a burst of pushes would slow down several
times; paced, the deliveries wait and catch up when the burst is over.
Under sustained load the sender still gets its share (about a hundred
deliveries a second at 10 %).

A token bucket over CPU time: every second of wall time adds `share` seconds of
CPU; the CPU the sender's threads use (measured with `time.thread_time`) takes
them out; while the bucket is in debt and a request was answered within
`BUSY_SECONDS`, no new attempt starts.
"""

import asyncio
import time

BUSY_SECONDS = 0.25  # a request answered this recently means the API is busy
BURST_SECONDS = 0.02  # CPU the sender may spend ahead of its share


class CpuShare:
    def __init__(self, share: float) -> None:
        self.share = share
        self.last_request = 0.0
        self._debt = 0.0  # CPU seconds spent beyond the share
        self._at = time.monotonic()
        self._thread_cpu: float | None = None

    def observe_request(self, *_: object) -> None:
        """A request was answered (an observer of the request log middleware)."""
        self.last_request = time.monotonic()

    def spent(self, seconds: float) -> None:
        """CPU used by one of the sender's helper threads (benign races: an estimate)."""
        self._debt += seconds

    def sample_loop_thread(self) -> None:
        """Count the CPU the sender's own thread used since the last sample (call from it)."""
        now = time.thread_time()
        if self._thread_cpu is not None:
            self._debt += now - self._thread_cpu
        self._thread_cpu = now

    def busy(self) -> bool:
        return time.monotonic() - self.last_request < BUSY_SECONDS

    async def wait_turn(self) -> None:
        """Return when the sender may start more work."""
        if self.share >= 1.0:
            return
        while True:
            self.sample_loop_thread()
            now = time.monotonic()
            self._debt = max(0.0, self._debt - (now - self._at) * self.share)
            self._at = now
            if self._debt <= BURST_SECONDS or not self.busy():
                return
            await asyncio.sleep(min(0.1, (self._debt - BURST_SECONDS) / self.share))
