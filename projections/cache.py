"""In-process caches for the read path, kept fresh by the projector's invalidations."""

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

MISS = object()


class ViewCache:
    """A bounded map of query results; a result read while an invalidation ran is not kept."""

    def __init__(self, max_entries: int = 50_000, enabled: bool = True) -> None:
        self.max_entries = max_entries
        self.enabled = enabled
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._generation = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        return self._entries.get(key, MISS) if self.enabled else MISS

    def load(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        """Run the loader and keep its result unless the view changed meanwhile."""
        generation = self._generation
        value = loader()
        if self.enabled:
            with self._lock:
                if generation == self._generation:
                    self._entries[key] = value
                    if len(self._entries) > self.max_entries:
                        self._entries.popitem(last=False)
        return value

    def invalidate(self, keys: set) -> None:
        with self._lock:
            self._generation += 1
            if ("all",) in keys:
                self._entries.clear()
                return
            for key in keys:
                self._entries.pop(key, None)


class ContentCache:
    """Bytes by digest (immutable content), bounded by their total size."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, digest: str) -> bytes | None:
        return self._entries.get(digest)

    def put(self, digest: str, content: bytes) -> None:
        with self._lock:
            if digest in self._entries or len(content) > self.max_bytes // 4:
                return
            self._entries[digest] = content
            self._size += len(content)
            while self._size > self.max_bytes:
                _, old = self._entries.popitem(last=False)
                self._size -= len(old)
