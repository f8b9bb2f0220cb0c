"""Shared run context, sizes and the metric record used by every scenario."""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field

from bench import client, procstat

MiB = 1 << 20


@dataclass
class Sizes:
    push_layer: int = 20 * MiB
    push_count: int = 16           # sequential pushes, one stream
    push_parallel_count: int = 16  # pushes spread over push_threads streams
    push_threads: int = 4
    pull_blob: int = 128 * MiB
    pull_seconds: float = 10.0
    wrk_seconds: float = 10.0
    manifest_tags: int = 10
    repos: int = 1000
    repo_tags: int = 3
    mounts: int = 2000
    mount_blob: int = 1 * MiB
    mount_sources: int = 10
    client_threads: int = 8
    memory_layer: int = 1024 * MiB
    scenario_time_limit: float = 600.0

    @classmethod
    def quick(cls) -> "Sizes":
        return cls(push_count=3, push_parallel_count=4, pull_blob=100 * MiB,
                   pull_seconds=2.0, wrk_seconds=2.0, manifest_tags=3, repos=50,
                   mounts=200, memory_layer=256 * MiB, scenario_time_limit=120.0)


@dataclass
class Ctx:
    sizes: Sizes
    upload_mode: str = "auto"         # auto | post | post-put
    pull_client: str = "python"       # python | wrk
    modes: dict = field(default_factory=dict)   # server label -> resolved mode
    idle_rss_kb: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)   # pre-generated payloads
    round: int = 0                    # repetition number (--repeat)

    def new_round(self, r: int) -> None:
        """Next repetition: fresh content/repository names so nothing is re-pushed."""
        self.round = r
        for k in [k for k in self.cache if isinstance(k, tuple) and k[:1] == ("r",)
                  and k[1] != r]:
            del self.cache[k]

    def mode_for(self, srv) -> str:
        if self.upload_mode != "auto":
            return self.upload_mode
        if srv.label not in self.modes:
            self.modes[srv.label] = client.probe_push_mode(
                srv.host, srv.port, "library/bench-probe", srv.headers)
        return self.modes[srv.label]

    def distinct_blobs(self, key: str, count: int, size: int,
                       per_round: bool = True) -> list[tuple[memoryview, str]]:
        """`count` blobs of `size` bytes with distinct content: a shared random body
        with a per-blob random first 4 KiB. Cached so both servers get the same set
        (and, with per_round, new content in each repetition)."""
        k = ("r", self.round, key, count, size) if per_round else (key, count, size)
        if k not in self.cache:
            base = os.urandom(size)
            out = []
            for _ in range(count):
                b = bytearray(base)
                b[:4096] = os.urandom(min(4096, size))
                out.append((memoryview(bytes(b)), client.sha256(b)))
            self.cache[k] = out
        return self.cache[k]

    def big_layer(self, key: str, size: int, piece: int = 64 * MiB) -> tuple[list, str]:
        """A `size`-byte layer as a list of memoryviews over one random `piece`
        (first 4 KiB unique per key), plus its digest. Never materialised whole."""
        k = ("r", self.round, "big", key, size)
        if k not in self.cache:
            base = self.cache.setdefault(("piece", piece), memoryview(os.urandom(piece)))
            head = os.urandom(4096)
            chunks = [memoryview(head), base[4096:]]
            left = size - piece
            while left > 0:
                chunks.append(base[:min(piece, left)])
                left -= piece
            h = hashlib.sha256()
            for c in chunks:
                h.update(c)
            self.cache[k] = (chunks, "sha256:" + h.hexdigest())
        return self.cache[k]


def metric(name: str, value, unit: str, better: str, **detail) -> dict:
    """better: 'higher' or 'lower'. detail goes to the JSON file only."""
    return {"metric": name, "value": value, "unit": unit, "better": better,
            "detail": detail}


def wait_idle(servers, cpu_pct: float = 10.0, window: float = 0.5,
              timeout: float = 15.0, machine_pct: float | None = None) -> bool:
    """Wait until every server tree uses < cpu_pct of one core over `window` s, so
    background work of one side does not bleed into the other's measurement; with
    machine_pct, also until the whole machine is below that (other people's load)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = [procstat.cpu_seconds(s.pid) for s in servers if s.alive()]
        m0 = procstat.machine_cpu()[0]
        time.sleep(window)
        after = [procstat.cpu_seconds(s.pid) for s in servers if s.alive()]
        busy = 100 * (procstat.machine_cpu()[0] - m0) / window
        if all(100 * (a - b) / window < cpu_pct for a, b in zip(after, before)) and (
                machine_pct is None or busy < machine_pct):
            return True
    return False
