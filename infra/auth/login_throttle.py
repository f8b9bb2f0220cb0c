"""Slowing down password guessing per source address, never per account.

Two counters: one per (source, name) and one per source across all names. Each
allows a few failures freely, then asks for a wait that doubles with every
further failure, up to a cap; a counter is forgotten after a quiet spell. A
success from a source clears its (source, name) counter only: an attacker who
owns one account cannot wipe its slate by signing in to it between guesses.
Nothing is ever counted against an account as such, so guesses from elsewhere
never keep its owner out.

Attempts in flight count as well, so a burst of parallel guesses gets no more
checks than the same guesses sent one after another.
"""

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from typing import Callable

import msgspec


class Rule(msgspec.Struct, frozen=True):
    """How many failures pass freely, the first wait, its cap, and when a counter is forgotten."""

    free: int
    base_seconds: float
    max_seconds: float
    window_seconds: float

    def wait_after(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.max_seconds, self.base_seconds * 2 ** min(failures - self.free, 64))


class _Counter:
    __slots__ = ("failures", "last", "until", "inflight")

    def __init__(self) -> None:
        self.failures = 0
        self.last = 0.0
        self.until = 0.0
        self.inflight = 0


def source_key(client_ip: str) -> str:
    """The unit one party controls: an IPv4 address, an IPv6 /64 (a single host usually
    holds a whole /64 and could step through it)."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class LoginThrottle:
    def __init__(self, pair: Rule, source: Rule, clock: Callable[[], float] = time.time,
                 max_tracked: int = 100_000) -> None:
        self.pair = pair
        self.source = source
        self.clock = clock  # wall time: waits are rebuilt from recorded failures after a restart
        self.max_tracked = max_tracked
        self._counters: OrderedDict[tuple, _Counter] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, client_ip: str, name: str) -> int:
        """Seconds this source must wait before trying this name (0: it may try now)."""
        if not self._counters:  # the common case: nobody is guessing
            return 0
        with self._lock:
            return self._wait(source_key(client_ip), name, self.clock())

    def begin(self, client_ip: str, name: str) -> int:
        """Start a password check: 0 and the attempt is counted as in flight, or the seconds
        to wait (nothing counted). Every 0 must be followed by `end`."""
        source = source_key(client_ip)
        with self._lock:
            now = self.clock()
            waiting = self._wait(source, name, now)
            if waiting:
                return waiting
            for key in ((source,), (source, name)):
                self._counter(key).inflight += 1
            return 0

    def end(self, client_ip: str, name: str, failed: bool) -> tuple[int, int, int]:
        """Finish a check begun with `begin`; for a failure, (failures from this source for
        this name, failures from this source for any name, seconds it must now wait)."""
        source = source_key(client_ip)
        with self._lock:
            self._release(source, name)
            if failed:
                return self._fail(source, name, self.clock())
            pair = self._counters.get((source, name))
            if pair is not None:
                pair.failures, pair.until = 0, 0.0
                self._tidy((source, name))
            return 0, 0, 0

    def abandon(self, client_ip: str, name: str) -> None:
        """A check begun with `begin` that never finished (the client left): not a failure."""
        with self._lock:
            self._release(source_key(client_ip), name)

    def failed_at(self, client_ip: str, name: str, at: float) -> None:
        """A failure seen in the log (recorded before a restart, or by another process)."""
        with self._lock:
            self._fail(source_key(client_ip), name, at)

    def tracked(self) -> int:
        return len(self._counters)

    # -- inside the lock ---------------------------------------------------------

    def _wait(self, source: str, name: str, now: float) -> int:
        waits = []
        for key, rule in (((source,), self.source), ((source, name), self.pair)):
            counter = self._counters.get(key)
            if counter is None:
                continue
            if counter.inflight == 0 and now - counter.last > max(rule.window_seconds, rule.max_seconds):
                del self._counters[key]  # a quiet spell: forgotten
                continue
            if counter.until > now:
                waits.append(math.ceil(counter.until - now))
            elif counter.inflight >= max(rule.free - counter.failures, 1):
                # No more checks in flight than failures left free (past them, one at a time):
                # parallel guesses get no more tries than sequential ones. The rest wait a second.
                waits.append(1)
        return max(waits, default=0)

    def _fail(self, source: str, name: str, at: float) -> tuple[int, int, int]:
        counts, waits = [], []
        for key, rule in (((source, name), self.pair), ((source,), self.source)):
            counter = self._counter(key)
            if at - counter.last > max(rule.window_seconds, rule.max_seconds):
                counter.failures = 0
            counter.failures += 1
            counter.last = max(counter.last, at)
            counter.until = max(counter.until, at + rule.wait_after(counter.failures))
            counts.append(counter.failures)
            waits.append(counter.until - at)
        return counts[0], counts[1], math.ceil(max(waits))

    def _release(self, source: str, name: str) -> None:
        """One check fewer in flight; counters left with nothing to remember go."""
        for key in ((source,), (source, name)):
            counter = self._counters.get(key)
            if counter is not None:
                counter.inflight = max(0, counter.inflight - 1)
                self._tidy(key)

    def _tidy(self, key: tuple) -> None:
        counter = self._counters.get(key)
        if counter is not None and counter.failures == 0 and counter.inflight == 0:
            del self._counters[key]

    def _counter(self, key: tuple) -> _Counter:
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = _Counter()
            while len(self._counters) > self.max_tracked:
                self._counters.popitem(last=False)  # the longest untouched goes first
        else:
            self._counters.move_to_end(key)
        return counter
