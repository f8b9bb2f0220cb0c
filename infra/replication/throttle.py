"""A byte-rate limit (KB/s) for blob transfers: a token bucket that sleeps off its debt."""

import threading
import time
from typing import Callable, Iterable, Iterator

KB = 1024


class Throttle:
    """At most `kb_per_second` KB (1 KB = 1024 bytes) per second on average, with bursts of up
    to one second's worth; 0 means no limit. Shared by the threads of one client: what one
    thread consumes, the others wait for."""

    def __init__(self, kb_per_second: int, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if kb_per_second < 0:
            raise ValueError("kb_per_second must be 0 (no limit) or more")
        self.rate = kb_per_second * KB  # bytes per second
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(self.rate)
        self._last = clock()

    def consume(self, n: int) -> None:
        """Account for `n` bytes; sleep as long as the bucket is in debt."""
        if self.rate == 0 or n <= 0:
            return
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.rate), self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= n
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            # The debt stays recorded: the refill the next call computes covers this sleep.
            self._sleep(wait)

    def wrap(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """`chunks`, each one paid for before it is handed on."""
        for chunk in chunks:
            self.consume(len(chunk))
            yield chunk
