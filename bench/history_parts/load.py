"""The machine's load next to every phase: `uptime` and `Phase` (wall time and CPU)."""
from __future__ import annotations

import os
import subprocess
import time
from typing import Any

from bench import procstat


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average: %.2f, %.2f, %.2f" % os.getloadavg()


class Phase:
    """Wall time, this process's CPU, the server's CPU (if any) and the whole machine's busy
    CPU over one phase, with `uptime` before and after: the machine is shared."""

    def __init__(self, name: str, server_pid: int | None = None) -> None:
        self.name = name
        self.server_pid = server_pid

    def __enter__(self) -> "Phase":
        self.uptime_before = uptime()
        self.load_before = os.getloadavg()
        self._m0 = procstat.machine_cpu()
        self._c0 = _own_cpu()
        self._s0 = procstat.cpu_seconds(self.server_pid) if self.server_pid else 0.0
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.wall = time.perf_counter() - self._t0
        m1 = procstat.machine_cpu()
        self.own_cpu = _own_cpu() - self._c0
        self.server_cpu = (procstat.cpu_seconds(self.server_pid) - self._s0) if self.server_pid else None
        self.machine_busy = m1[0] - self._m0[0]
        self.uptime_after = uptime()
        self.load_after = os.getloadavg()

    def as_dict(self) -> dict:
        wall = max(self.wall, 1e-9)
        out = {
            "wall_s": round(self.wall, 3),
            "bench_process_cpu_pct": round(100 * self.own_cpu / wall, 1),
            "machine_busy_pct_of_one_core": round(100 * self.machine_busy / wall, 1),
            "machine_cores": os.cpu_count(),
            "uptime_before": self.uptime_before,
            "uptime_after": self.uptime_after,
            "loadavg_before": [round(x, 2) for x in self.load_before],
            "loadavg_after": [round(x, 2) for x in self.load_after],
        }
        if self.server_cpu is not None:
            out["server_cpu_pct"] = round(100 * self.server_cpu / wall, 1)
        # What neither this process nor the server used: other work on the shared machine
        # (PostgreSQL's backends count here too).
        other = self.machine_busy - self.own_cpu - (self.server_cpu or 0.0)
        out["other_busy_pct_of_one_core"] = round(100 * other / wall, 1)
        return out


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system
