"""Profiling: cProfile of a replay and of queries, and py-spy recordings with their summaries."""
from __future__ import annotations

import cProfile
import io
import pstats
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.servers import _die_with_parent


def profile_replay(registry: Any, events: int, out: Path) -> dict:
    """cProfile of replaying the first `events` events into scratch tables (not timed)."""
    from projections.oci_view import OciView
    from projections.projector import Projector

    scratch = OciView("oci_prof_")
    projector = Projector(registry.app, registry.db, scratch, name="oci_prof", batch=5000)
    with registry.db.write() as w:
        scratch.drop(w)
        w.execute("DELETE FROM projection_positions WHERE name = ?", (projector.name,))
    projector.setup()
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    reached = projector.catch_up(until=events)
    profiler.disable()
    seconds = time.perf_counter() - t0
    with registry.db.write() as w:
        scratch.drop(w)
        w.execute("DELETE FROM projection_positions WHERE name = ?", (projector.name,))
    return {"events": reached, "seconds_under_profiler": round(seconds, 2),
            "top": write_profile(profiler, out)}


def write_profile(profiler: cProfile.Profile, out: Path, top: int = 12) -> list[dict]:
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("tottime").print_stats(40)
    stats.sort_stats("cumulative").print_stats(40)
    out.write_text(stream.getvalue())
    total = max(sum(v[2] for v in stats.stats.values()), 1e-9)  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]  # type: ignore[attr-defined]
    return [{"function": f"{Path(k[0]).name}:{k[1]}({k[2]})", "calls": v[1],
             "tottime_s": round(v[2], 3), "share_pct": round(100 * v[2] / total, 1)}
            for k, v in rows]


class PySpy:
    """`py-spy record` on a process while a phase runs (sampling, so the timed figure is
    barely disturbed); `summary()` reads its collapsed stacks. A no-op without a binary."""

    def __init__(self, binary: str | None, pid: int, out: Path | None, *, idle: bool = False,
                 subprocesses: bool = False, rate: int = 100) -> None:
        self.binary = binary if out is not None else None
        self.pid = pid
        self.out = out
        self.idle = idle
        self.subprocesses = subprocesses
        self.rate = rate
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "PySpy":
        if self.binary:
            argv = [self.binary, "record", "--pid", str(self.pid), "--rate", str(self.rate),
                    "--format", "raw", "--output", str(self.out), "--nonblocking"]
            argv += ["--idle"] if self.idle else []
            argv += ["--subprocesses"] if self.subprocesses else []
            self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         preexec_fn=_die_with_parent)
            time.sleep(1.0)  # let it attach before the phase starts
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def summary(self, top: int = 15) -> dict | None:
        if not self.binary or self.out is None or not self.out.exists():
            return None
        return summarize_stacks(self.out.read_text(errors="replace"), top)


PROJECT_DIRS = ("projections/", "infra/", "read_api/", "write_api/", "domain/", "commands/")


def summarize_stacks(text: str, top: int = 15) -> dict:
    """Self time per frame (the frame on CPU) and inclusive time per project frame, in % of
    the samples, from py-spy's collapsed stacks (`frame;frame;... count`)."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [f for f in stack.split(";") if "(" in f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for frame in set(frames):
            if any(d in frame for d in PROJECT_DIRS):
                inclusive[frame] = inclusive.get(frame, 0) + n
    pct = lambda n: round(100 * n / max(total, 1), 1)  # noqa: E731
    return {
        "samples": total,
        "self_pct": [{"frame": f, "pct": pct(n)} for f, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]],
        "project_inclusive_pct": [{"frame": f, "pct": pct(n)}
                                  for f, n in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]],
    }


def find_py_spy(option: str | None) -> str | None:
    if option == "none":
        return None
    if option:
        return option
    found = shutil.which("py-spy")
    return found
