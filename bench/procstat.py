"""/proc helpers: process trees, RSS and CPU time of a server and its children."""
from __future__ import annotations

import os
import threading
import time

_CLK = os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    """Direct children of pid, via /proc/PID/task/*/children (fallback: scan /proc)."""
    kids: list[int] = []
    task_dir = f"/proc/{pid}/task"
    try:
        for tid in os.listdir(task_dir):
            try:
                with open(f"{task_dir}/{tid}/children") as f:
                    kids.extend(int(x) for x in f.read().split())
            except OSError:
                pass
        return kids
    except OSError:
        pass
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    kids.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return kids


def tree(pid: int) -> list[int]:
    """pid and all its descendants (that are alive right now)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        if not os.path.exists(f"/proc/{p}"):
            continue
        out.append(p)
        todo.extend(children_of(p))
    return out


def status_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kb(pid: int) -> int:
    """Sum of VmRSS over the process tree (shared pages of forked workers count twice)."""
    return sum(status_kb(p, "VmRSS") for p in tree(pid))


def hwm_kb(pid: int) -> int:
    """Sum of VmHWM (peak RSS since process start) over the process tree."""
    return sum(status_kb(p, "VmHWM") for p in tree(pid))


def cpu_seconds(pid: int) -> float:
    """utime+stime of the tree (plus reaped children's cutime/cstime)."""
    total = 0
    for p in tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # fields[0] is state (field 3); utime=14, stime=15, cutime=16, cstime=17
            total += sum(int(fields[i]) for i in (11, 12, 13, 14))
        except (OSError, IndexError, ValueError):
            pass
    return total / _CLK


class RssSampler:
    """Samples the tree's summed VmRSS every `interval` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 0.02):
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        t0 = time.monotonic()
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - t0, rss_kb(self.pid)))
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def peak_kb(self) -> int:
        return max((kb for _, kb in self.samples), default=0)


class CpuMeter:
    """CPU used by a server tree and by this client process (incl. waited children)."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid

    def __enter__(self) -> "CpuMeter":
        self._s0 = cpu_seconds(self.server_pid)
        self._c0 = _client_cpu()
        self._m0 = machine_cpu()
        self._t0 = time.monotonic()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.monotonic() - self._t0
        self.server_cpu = cpu_seconds(self.server_pid) - self._s0
        self.client_cpu = _client_cpu() - self._c0
        m1 = machine_cpu()
        self.machine_busy = m1[0] - self._m0[0]
        self.machine_iowait = m1[1] - self._m0[1]
        self.machine_irq = m1[2] - self._m0[2]

    def as_dict(self) -> dict:
        """Percentages of one core (200 = both cores of a 2-core box busy).
        machine_busy includes kernel softirq work and any other process
        (e.g. the idle server, or unrelated load on a shared machine)."""
        w = max(self.wall, 1e-9)
        return {
            "wall_s": round(self.wall, 3),
            "server_cpu_pct": round(100 * self.server_cpu / w, 1),
            "client_cpu_pct": round(100 * self.client_cpu / w, 1),
            "machine_busy_pct": round(100 * self.machine_busy / w, 1),
            "machine_iowait_pct": round(100 * self.machine_iowait / w, 1),
            "machine_irq_pct": round(100 * self.machine_irq / w, 1),
        }


def _client_cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def machine_cpu() -> tuple[float, float, float]:
    """(busy, iowait, irq+softirq) CPU seconds of the whole machine from /proc/stat.
    irq+softirq (e.g. loopback TCP processing) is part of busy but of no process."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0, 0.0
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return ((user + nice + system + irq + softirq + steal) / _CLK, iowait / _CLK,
            (irq + softirq) / _CLK)
