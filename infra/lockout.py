"""Slowing down password guessing: after repeated failures a user name is
refused for a while, without affecting other users."""

import threading
import time


class LoginLockout:
    def __init__(self, max_failures: int = 5, window_seconds: float = 300,
                 max_tracked: int = 100_000) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self.max_tracked = max_tracked
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def locked(self, name: str) -> bool:
        with self._lock:
            recent = self._recent(name)
            return len(recent) >= self.max_failures

    def failed(self, name: str) -> None:
        with self._lock:
            if len(self._failures) >= self.max_tracked:
                self._failures.clear()
            self._failures[name] = [*self._recent(name), time.monotonic()]

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)

    def _recent(self, name: str) -> list[float]:
        cutoff = time.monotonic() - self.window
        return [t for t in self._failures.get(name, []) if t > cutoff]
