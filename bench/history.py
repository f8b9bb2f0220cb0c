"""Time travel and the event log at scale: a log of >= 1,000,000 events, on SQLite and
on PostgreSQL.

For each backend this script
  1. generates the log straight through the application (no HTTP): 10,000 repositories
     in project `library`, each with blob links, two manifests and two tags; one tag in
     `library/hot` moved 1,000 times (spread over the whole log); a third manifest pushed
     in every repository half-way, the first one deleted at three quarters; and rounds
     of tag moves in every repository until the log holds the target number of events;
  2. catches up every projection (the live projection rate), per projector;
  3. rebuilds the OCI view with `projections/rebuild.py` (replay, swap, checksum) and
     checks its checksum against the live view's;
  4. starts the server and measures through HTTP: the artifact list of a repository
     `at=` a past position vs now, the history of the tag moved 1,000 times, and a
     subscriber reading the event feed from position 0 in pages of 10,000;
  5. (in process, server stopped) times each query the artifact-list handler makes, so
     a missed target can be traced, and with --profile writes cProfile reports.

Figures are printed as a table against the targets and written to a JSON file, with the
machine's load (`uptime`, busy CPU) next to every phase: the machine is shared.

    /work/venv/bin/python bench/history.py                       # both backends, 1M events
    /work/venv/bin/python bench/history.py --backend sqlite --events 100000 --repos 1000
    /work/venv/bin/python bench/history.py --profile             # + cProfile reports
"""
from __future__ import annotations

import argparse
import base64
import cProfile
import hashlib
import http.client
import io
import json
import math
import os
import platform
import pstats
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import procstat  # noqa: E402
from bench.servers import _die_with_parent, free_port  # noqa: E402

HOST = "127.0.0.1"
PROJECT = "library"
HOT_REPO = "library/hot"
HOT_TAG = "moving"
ADMIN_PASSWORD = "Bench-history-1"
PG_ADMIN_URL = os.environ.get("TIDEMARK_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

# name -> (unit, comparison, value); "<=" means lower is better.
TARGETS = {
    "rebuild_events_per_s": ("events/s", ">=", 20_000),
    "artifacts_now_median_ms": ("ms", "<=", 50.0),
    "artifacts_past_median_ms": ("ms", "<=", 50.0),
    "artifacts_past_over_now": ("x", "<=", 2.0),
    "tag_history_median_ms": ("ms", "<=", 20.0),
    "feed_events_per_s": ("events/s", ">=", 20_000),
}


def say(*parts: Any) -> None:
    print(time.strftime("%H:%M:%S"), *parts, flush=True)


# ---------------------------------------------------------------------------- load


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


# ---------------------------------------------------------------------------- backends


class Backend:
    """A data directory, and for PostgreSQL a database of its own, dropped at the end."""

    def __init__(self, kind: str, keep: bool) -> None:
        self.kind = kind
        self.keep = keep
        self.data_dir = tempfile.mkdtemp(prefix=f"tidemark-history-{kind}-")
        self.db_name: str | None = None
        self.database_url = ""
        if kind == "postgres":
            import psycopg

            self.db_name = f"tidemark_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.db_name}"')
            base = PG_ADMIN_URL.rsplit("/", 1)[0]
            self.database_url = f"{base}/{self.db_name}"

    def settings(self):
        from infra.settings import Settings

        return Settings(data_dir=self.data_dir, database_url=self.database_url,
                        admin_password=ADMIN_PASSWORD, log_level="warning")

    def server_env(self) -> dict:
        env = dict(os.environ)
        env["TIDEMARK_ADMIN_PASSWORD"] = ADMIN_PASSWORD
        env["TIDEMARK_LOG_LEVEL"] = "warning"
        env.pop("TIDEMARK_DATABASE_URL", None)
        if self.database_url:
            env["TIDEMARK_DATABASE_URL"] = self.database_url
        return env

    def sizes(self) -> dict:
        out: dict[str, Any] = {}
        if self.kind == "sqlite":
            for name in ("events.sqlite", "views.sqlite"):
                path = Path(self.data_dir) / name
                wal = Path(str(path) + "-wal")
                out[name + "_mb"] = round(((path.stat().st_size if path.exists() else 0)
                                           + (wal.stat().st_size if wal.exists() else 0)) / 1e6, 1)
        else:
            import psycopg

            with psycopg.connect(self.database_url, autocommit=True) as conn:
                out["database_mb"] = round(conn.execute(
                    "SELECT pg_database_size(current_database())").fetchone()[0] / 1e6, 1)
        return out

    def cleanup(self) -> None:
        if self.keep:
            say(f"kept data dir {self.data_dir}" + (f" and database {self.db_name}" if self.db_name else ""))
            return
        shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.db_name:
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')


def open_registry(backend: Backend):
    from infra.wiring.registry import build_registry

    registry = build_registry(backend.settings())
    registry.start(follow=False)
    return registry


# ---------------------------------------------------------------------------- the log


def digest_of(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class RepoState:
    __slots__ = ("name", "m1", "m2", "m3", "m1_aggregate", "latest", "stable")

    def __init__(self, name: str) -> None:
        self.name = name
        self.m1 = digest_of(name, "m1")
        self.m2 = digest_of(name, "m2")
        self.m3 = digest_of(name, "m3")


class LogWriter:
    """Saves aggregates `batch` at a time (one atomic append per `app.save`), and moves the
    hot tag whenever the log crosses the next point of its schedule."""

    def __init__(self, app: Any, batch: int, on_flush: Callable[[], None]) -> None:
        self.app = app
        self.batch = batch
        self.pending: list = []
        self.written = 0
        self.saves = 0
        self.on_flush = on_flush

    def add(self, aggregate: Any) -> None:
        self.pending.append(aggregate)
        if len(self.pending) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            recordings = self.app.save(*self.pending)
            self.written += len(recordings)
            self.saves += 1
            self.pending = []
        self.on_flush()


def generate(registry: Any, repos: int, target: int, hot_moves: int, batch: int,
             seed: int) -> dict:
    """Write the log; return what the measurements need (positions, names)."""
    from domain.base import Actor
    from domain.artifacts.blob_link import BlobLink
    from domain.artifacts.manifest import Manifest
    from domain.artifacts.manifest_format import OCI_MANIFEST, ParsedManifest
    from domain.artifacts.tag import Tag

    app = registry.app
    requests = iter(range(1, 1 << 62))

    def actor() -> Actor:
        # One request per change, as through the API: events of one request id are read as one
        # save (the webhook dispatcher scans a push's request for its tags), so a single id for
        # the whole log would make every push scan the rest of the log.
        return Actor(name="bench", client_ip="127.0.0.1", request_id=f"history-bench-{next(requests)}")
    config_type = "application/vnd.oci.image.config.v1+json"
    head0 = app.head()

    def parsed(config: str, layer: str) -> ParsedManifest:
        return ParsedManifest(media_type=OCI_MANIFEST, artifact_type=config_type,
                              blobs=[config, layer], foreign_blobs=[], manifests=[], subject=None,
                              annotations={"org.opencontainers.image.title": "bench"},
                              blob_bytes=1_234 + 5_678)

    def push(writer: LogWriter, state: RepoState, which: str) -> Any:
        config = digest_of(state.name, "config")
        layer = digest_of(state.name, "layer", which)
        writer.add(BlobLink.create(state.name, layer, 5_678, None, actor(), generation=1))
        manifest = Manifest.push(state.name, getattr(state, which), 512, parsed(config, layer), actor(), generation=1)
        writer.add(manifest)
        return manifest

    hot = RepoState(HOT_REPO)
    hot_state = {"done": 0, "next": 0}
    interval = max(1, (target - head0) // (hot_moves + 1))
    writer: LogWriter

    def on_flush() -> None:
        # At most one hot move per batch, so one save never carries the hot tag twice.
        if hot_state["done"] < hot_moves and writer.written >= hot_state["next"]:
            hot_state["done"] += 1
            hot_state["next"] += interval
            hot.latest.point_at(hot.m2 if hot.latest.digest == hot.m1 else hot.m1, actor())
            writer.pending.append(hot.latest)

    writer = LogWriter(app, batch, lambda: None)
    states = [RepoState(f"{PROJECT}/app-{i:05d}") for i in range(repos)]
    started = time.perf_counter()

    # The hot repository first: its tag is then moved all along the log.
    for state in [hot, *states]:
        writer.add(BlobLink.create(state.name, digest_of(state.name, "config"), 1_234, None, actor(), generation=1))
        state.m1_aggregate = push(writer, state, "m1")
        push(writer, state, "m2")
        state.latest = Tag.create(state.name, "latest" if state is not hot else HOT_TAG, state.m1, actor(), generation=1)
        state.stable = Tag.create(state.name, "stable", state.m2, actor(), generation=1)
        writer.add(state.latest)
        writer.add(state.stable)
        if state is hot:
            writer.flush()
            hot_state["next"] = writer.written + interval
            writer.on_flush = on_flush
    writer.flush()
    setup_events = writer.written

    # still to come besides the moves: m3 pushes (link + manifest), m1 deletes, hot moves
    fixed = 3 * repos + (hot_moves - hot_state["done"])
    rounds = max(4, math.ceil((target - head0 - writer.written - fixed) / repos))
    mid, delete_round, past_round = rounds // 2, (3 * rounds) // 4, (2 * rounds) // 5
    past_position = None
    for r in range(rounds):
        if r == mid:  # a third manifest everywhere; `latest` moves to it this round
            for state in states:
                push(writer, state, "m3")
        if r == delete_round:  # the first manifest goes (no tag points at it any more)
            for state in states:
                state.m1_aggregate.delete(actor())
                writer.add(state.m1_aggregate)
        for state in states:
            if r < mid:
                digest = state.m2 if r % 2 == 0 else state.m1
            else:
                digest = state.m3 if (r - mid) % 2 == 0 else state.m2
            state.latest.point_at(digest, actor())
            writer.add(state.latest)
        writer.flush()
        if r == past_round:
            past_position = app.head()
        if r % 10 == 0 or r == rounds - 1:
            elapsed = time.perf_counter() - started
            say(f"  round {r + 1}/{rounds}: {writer.written:,} events, "
                f"{writer.written / elapsed:,.0f} events/s")
    extra_rounds = 0
    while app.head() < target:  # top up (moves between m2 and m3)
        for state in states:
            state.latest.point_at(state.m2 if state.latest.digest == state.m3 else state.m3, actor())
            writer.add(state.latest)
        writer.flush()
        extra_rounds += 1
    while hot_state["done"] < hot_moves:  # finish the hot tag's schedule
        hot_state["next"] = 0
        writer.flush()
    writer.on_flush = lambda: None
    writer.flush()
    seconds = time.perf_counter() - started
    head = app.head()
    rng = random.Random(seed)
    return {
        "head": head,
        "events_written": writer.written,
        "events_before": head0,
        "setup_events": setup_events,
        "saves": writer.saves,
        "aggregates_per_save": batch,
        "rounds": rounds + extra_rounds,
        "seconds": round(seconds, 2),
        "events_per_s": round(writer.written / seconds),
        "repositories": repos + 1,
        "hot_repository": HOT_REPO,
        "hot_tag": HOT_TAG,
        "hot_moves": hot_state["done"],
        "past_position": past_position,
        "m3_pushed_in_round": mid,
        "m1_deleted_in_round": delete_round,
        "sample_repositories": [s.name for s in rng.sample(states, min(20, len(states)))],
        "expect_now": ["m3", "m2"],
        "expect_past": ["m2", "m1"],
    }


# ---------------------------------------------------------------------------- projections


def catch_up(registry: Any, head: int) -> dict:
    per: dict[str, dict] = {}
    total = 0.0
    for projector in registry.projectors:
        before = projector.position()
        t0 = time.perf_counter()
        reached = projector.catch_up()
        seconds = time.perf_counter() - t0
        total += seconds
        applied = reached - before
        per[projector.name] = {"events": applied, "seconds": round(seconds, 2),
                               "events_per_s": round(applied / seconds) if seconds else None}
        say(f"  {projector.name:<7} {applied:,} events in {seconds:.1f} s "
            f"({applied / max(seconds, 1e-9):,.0f} events/s)")
    return {"projectors": per, "seconds": round(total, 2),
            "events_per_s_all_views": round(head / total) if total else None,
            "events_per_s_oci": per.get("oci", {}).get("events_per_s")}


def rebuild_oci(registry: Any) -> dict:
    from projections.oci_view import OciView
    from projections.projector import checksum
    from projections.rebuild import rebuild

    live = registry.projector
    t0 = time.perf_counter()
    live_sum = checksum(registry.db, live.view.p, live.view.tables)
    checksum_seconds = time.perf_counter() - t0
    head = registry.app.head()
    marks: dict[str, float] = {}

    def progress(reached: int, of: int) -> None:
        if reached >= of and "replayed" not in marks:
            marks["replayed"] = time.perf_counter()

    t0 = time.perf_counter()
    rebuilt_sum = rebuild(registry.app, registry.db, OciView, live, progress)
    total = time.perf_counter() - t0
    replay = marks.get("replayed", t0 + total) - t0
    return {
        "events": head,
        "seconds": round(total, 2),
        "events_per_s": round(head / total),
        "replay_seconds": round(replay, 2),
        "replay_events_per_s": round(head / replay),
        "swap_and_checksum_seconds": round(total - replay, 2),
        "checksum_seconds": round(checksum_seconds, 2),
        "checksum_matches_live": rebuilt_sum == live_sum,
    }


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


# ---------------------------------------------------------------------------- HTTP


class Server:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.port = free_port()
        self.log_path = Path(backend.data_dir) / "server.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 300.0, spy: str | None = None,
              spy_out: Path | None = None) -> tuple[float, dict | None]:
        """Start the server; return the seconds until it answers (and a py-spy summary of
        its start-up when a binary is given)."""
        argv = [sys.executable, "-m", "infra.wiring.cli", "serve", "--host", HOST, "--port", str(self.port),
                "--data-dir", self.backend.data_dir]
        log = open(self.log_path, "wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=self.backend.server_env(), stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        log.close()
        recorder = PySpy(spy, self.proc.pid, spy_out, subprocesses=True).__enter__()
        try:
            return self._wait_ready(t0, timeout), None
        finally:
            recorder.__exit__(None, None, None)
            self.startup_profile = recorder.summary()

    def _wait_ready(self, t0: float, timeout: float) -> float:
        assert self.proc is not None
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}): {self.log_tail()}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/api/v2.0/ping")
                if conn.getresponse().status == 200:
                    conn.close()
                    return time.perf_counter() - t0
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready in {timeout} s: {self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        pids = procstat.tree(self.proc.pid)
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait(timeout=10)


class Client:
    """One keep-alive connection with Basic auth; `get` returns (seconds, status, headers, body)."""

    def __init__(self, port: int) -> None:
        self.port = port
        token = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        self.conn = http.client.HTTPConnection(HOST, port, timeout=300)

    def get(self, path: str) -> tuple[float, int, Any, bytes]:
        t0 = time.perf_counter()
        try:
            self.conn.request("GET", path, headers=self.headers)
            response = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=300)
            t0 = time.perf_counter()
            self.conn.request("GET", path, headers=self.headers)
            response = self.conn.getresponse()
        body = response.read()
        return time.perf_counter() - t0, response.status, response.headers, body

    def close(self) -> None:
        self.conn.close()


def latency_summary(samples: list[float]) -> dict:
    ms = sorted(s * 1000 for s in samples)
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 2), "p90_ms": round(pick(0.9), 2),
            "p99_ms": round(pick(0.99), 2), "min_ms": round(ms[0], 2), "max_ms": round(ms[-1], 2),
            "mean_ms": round(statistics.fmean(ms), 2)}


def artifacts_path(repository: str, position: int | None) -> str:
    name = repository.split("/", 1)[1].replace("/", "%252F")
    path = f"/api/v2.0/projects/{PROJECT}/repositories/{name}/artifacts?page=1&page_size=10&with_tag=true"
    return path + (f"&at={position}" if position is not None else "")


def measure_artifacts(client: Client, log: dict, requests: int, server_pid: int) -> dict:
    repos = log["sample_repositories"]
    past = log["past_position"]
    check = {}
    for label, position, expect in (("now", None, log["expect_now"]), ("past", past, log["expect_past"])):
        repo = repos[0]
        _, status, _, body = client.get(artifacts_path(repo, position))
        if status != 200:
            raise RuntimeError(f"artifact list {label}: HTTP {status}: {body[:300]!r}")
        items = json.loads(body)
        want = [digest_of(repo, m) for m in expect]
        check[label] = {"digests_as_expected": [i["digest"] for i in items] == want,
                        "artifacts": len(items), "tags": sum(len(i.get("tags") or []) for i in items)}
    for i in range(20):  # warm-up
        client.get(artifacts_path(repos[i % len(repos)], None))
        client.get(artifacts_path(repos[i % len(repos)], past))
    now: list[float] = []
    then: list[float] = []
    with Phase("artifacts", server_pid) as phase:
        for i in range(requests):
            repo = repos[i % len(repos)]
            order = ((now, None), (then, past)) if i % 2 == 0 else ((then, past), (now, None))
            for samples, position in order:
                seconds, status, _, body = client.get(artifacts_path(repo, position))
                if status != 200:
                    raise RuntimeError(f"artifact list: HTTP {status}: {body[:300]!r}")
                samples.append(seconds)
    now_s, past_s = latency_summary(now), latency_summary(then)
    return {"past_position": past, "now": now_s, "past": past_s,
            "past_over_now": round(past_s["median_ms"] / now_s["median_ms"], 2),
            "check": check, "load": phase.as_dict()}


def measure_tag_history(client: Client, requests: int, server_pid: int) -> dict:
    name = HOT_REPO.split("/", 1)[1]
    path = f"/api/v2.0/projects/{PROJECT}/repositories/{name}/tags/{HOT_TAG}/history"
    _, status, _, body = client.get(path)
    if status != 200:
        raise RuntimeError(f"tag history: HTTP {status}: {body[:300]!r}")
    entries = json.loads(body)
    for _ in range(10):
        client.get(path)
    samples = []
    with Phase("tag_history", server_pid) as phase:
        for _ in range(requests):
            seconds, status, _, _ = client.get(path)
            samples.append(seconds)
    return {"entries": len(entries), "response_bytes": len(body), **latency_summary(samples),
            "load": phase.as_dict()}


def measure_feed(client: Client, limit: int, head: int, server_pid: int, time_limit: float) -> dict:
    import msgspec

    decoder = msgspec.json.Decoder(list)
    path = f"/api/v2.0/events?after=0&limit={limit}"
    events = pages = nbytes = 0
    last_position = 0
    page_seconds: list[float] = []
    timed_out = False
    with Phase("feed", server_pid) as phase:
        while path:
            seconds, status, headers, body = client.get(path)
            if status != 200:
                raise RuntimeError(f"event feed: HTTP {status}: {body[:300]!r}")
            batch = decoder.decode(body)  # the subscriber parses every page
            pages += 1
            events += len(batch)
            nbytes += len(body)
            page_seconds.append(seconds)
            if batch:
                last_position = batch[-1]["position"]
            link = headers.get("Link")
            path = link.split(">", 1)[0].lstrip("<") if link else ""
            if phase_elapsed(phase) > time_limit:
                timed_out = True
                break
    wall = phase.wall
    return {"limit": limit, "pages": pages, "events": events, "bytes": nbytes,
            "last_position": last_position, "head": head, "seconds": round(wall, 2),
            "events_per_s": round(events / wall), "mb_per_s": round(nbytes / wall / 1e6, 1),
            "page": latency_summary(page_seconds), "timed_out": timed_out, "load": phase.as_dict()}


def phase_elapsed(phase: Phase) -> float:
    return time.perf_counter() - phase._t0


# ---------------------------------------------------------------------------- in process


def breakdown(registry: Any, log: dict, calls: int, profile_dir: Path | None) -> dict:
    """Each query the artifact-list, tag-history and feed handlers make, timed in process."""
    from read_api.event_feed import FeedFilter, read_page
    from domain.iam.access import Principal

    history = registry.history
    repo = log["sample_repositories"][0]
    past = log["past_position"]
    rows_now, _ = history.artifacts(repo, 0, 10, None)
    digests_now = [r.digest for r in rows_now]
    rows_past, _ = history.artifacts(repo, 0, 10, past)
    digests_past = [r.digest for r in rows_past]
    cases: dict[str, Callable[[], Any]] = {
        "resolve_at(past)": lambda: history.resolve_at(str(past)),
        "artifacts(now)": lambda: history.artifacts(repo, 0, 10, None),
        "artifacts(past)": lambda: history.artifacts(repo, 0, 10, past),
        "repository(now)": lambda: history.repository(repo, None),
        "repository(past)": lambda: history.repository(repo, past),
        "tags(now)": lambda: history.tags(repo, digests_now, None),
        "tags(past)": lambda: history.tags(repo, digests_past, past),
        "labels.of_artifacts(now)": lambda: registry.labels.of_artifacts(repo, digests_now, None),
        "labels.of_artifacts(past)": lambda: registry.labels.of_artifacts(repo, digests_past, past),
        "tag_history(hot)": lambda: history.tag_history(HOT_REPO, HOT_TAG),
    }
    admin = Principal(kind="user", name="admin", sysadmin=True)
    feed = FeedFilter(admin, dict(registry.queries.all_projects()), None, None)
    cases["read_page(after=0, limit=10000)"] = lambda: read_page(registry, 0, 10_000, feed)
    out: dict[str, dict] = {}
    for name, fn in cases.items():
        fn()
        n = calls if "read_page" not in name else max(3, calls // 20)
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        out[name] = latency_summary(samples)
        if profile_dir is not None:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(max(3, n // 4)):
                fn()
            profiler.disable()
            slug = "".join(c if c.isalnum() else "_" for c in name).strip("_")
            out[name]["profile_top"] = write_profile(profiler, profile_dir / f"{slug}.txt", top=6)
    rows, _ = history.repositories(PROJECT, 0, 1_000_000, None, None)
    out["_repositories_in_project"] = {"n": len(rows)}
    return out


def explain(registry: Any, log: dict) -> dict:
    """Query plans of the artifact-list queries (what the database does)."""
    from projections.audit.history import VALID

    repo = log["sample_repositories"][0]
    past = log["past_position"]
    p = registry.history.p
    queries = {
        "artifacts(past)": (f"SELECT * FROM {p}manifests WHERE repository = ? AND {VALID} "
                            "ORDER BY valid_from DESC LIMIT 10", [repo, past, past]),
        "repository(past) count per repository": (
            f"SELECT r.name, (SELECT COUNT(*) FROM {p}manifests m WHERE m.repository = r.name AND "
            f"m.valid_from <= ? AND (m.valid_to IS NULL OR m.valid_to > ?)) FROM {p}repositories r "
            "WHERE r.project = ? AND r.position <= ? ORDER BY r.name", [past, past, PROJECT, past]),
        "tags(past)": (f"SELECT * FROM {p}tags t WHERE t.repository = ? AND t.valid_from <= ? AND "
                       "(t.valid_to IS NULL OR t.valid_to > ?) ORDER BY t.tag", [repo, past, past]),
        "tag_history": (f"SELECT * FROM {p}tags t LEFT JOIN {p}event_times e ON e.position = t.valid_to "
                        "WHERE t.repository = ? AND t.tag = ? ORDER BY t.valid_from", [HOT_REPO, HOT_TAG]),
    }
    out = {}
    for name, (sql, params) in queries.items():
        prefix = "EXPLAIN QUERY PLAN " if registry.db.dialect == "sqlite" else "EXPLAIN "
        rows = registry.db.read(prefix + sql, params)
        out[name] = [" ".join(str(c) for c in row) for row in rows]
    return out


def what_if(registry: Any, log: dict, kind: str, args: argparse.Namespace) -> dict:
    """Measurements of the suggested changes, done from the bench without touching the code:
    the artifact list's repository row looked up by name instead of listing the project;
    (with --what-if, SQLite) the replay with an index on the open tag rows, and with a
    larger page cache."""
    import msgspec

    from projections.audit.history import VALID
    from projections.oci_view import OciView
    from projections.projector import Projector

    out: dict[str, Any] = {}
    p = registry.history.p
    repo = log["sample_repositories"][0]
    past = log["past_position"]
    by_name = (f"SELECT r.position, r.name, r.project, r.created_at, r.updated_at, "
               f"(SELECT COUNT(*) FROM {p}manifests m WHERE m.repository = r.name AND "
               f"{VALID.replace('valid_', 'm.valid_')}) FROM {p}repositories r "
               "WHERE r.name = ? AND r.position <= ?")
    registry.db.read(by_name, [past, past, repo, past])
    samples = []
    for _ in range(args.breakdown_calls):
        t0 = time.perf_counter()
        rows = registry.db.read(by_name, [past, past, repo, past])
        samples.append(time.perf_counter() - t0)
    expected = registry.history.repository(repo, past)
    # RepositoryRow is a msgspec Struct (not iterable); compare the columns this query selects.
    same = bool(rows) and expected is not None and \
        tuple(rows[0]) == msgspec.structs.astuple(expected)[:len(rows[0])]
    out["repository_by_name(past)"] = {**latency_summary(samples), "same_row": same}
    if not args.what_if or kind != "sqlite":
        return out

    class OpenTagIndex(OciView):
        def create(self, w: Any) -> None:
            super().create(w)
            w.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {self.p}tags_open ON {self.p}tags "
                      "(repository, tag) WHERE valid_to IS NULL")

    def replay(view: Any, label: str, cache_kib: int | None = None) -> dict:
        projector = Projector(registry.app, registry.db, view, name="oci_whatif", batch=5000)
        with registry.db.write() as w:
            view.drop(w)
            w.execute("DELETE FROM projection_positions WHERE name = ?", (projector.name,))
        projector.setup()
        writer = registry.db._writer  # the bench's own process: a pragma for this replay only
        if cache_kib:
            writer.execute(f"PRAGMA cache_size = -{cache_kib}")
        say(f"  what-if replay: {label}")
        try:
            with Phase(label) as phase:
                reached = projector.catch_up()
        finally:
            if cache_kib:
                writer.execute("PRAGMA cache_size = -2000")
            with registry.db.write() as w:
                view.drop(w)
                w.execute("DELETE FROM projection_positions WHERE name = ?", (projector.name,))
        return {"events": reached, "seconds": round(phase.wall, 2),
                "events_per_s": round(reached / phase.wall), "load": phase.as_dict()}

    out["replay_with_open_tag_index"] = replay(OpenTagIndex("oci_whatif_"), "open-tag index")
    out["replay_with_256mb_page_cache"] = replay(OciView("oci_whatif_"), "256 MiB page cache", 262_144)
    return out


# ---------------------------------------------------------------------------- one backend


def run_backend(kind: str, args: argparse.Namespace, profile_root: Path) -> dict:
    result: dict[str, Any] = {"backend": kind, "errors": []}
    backend = Backend(kind, args.keep_data)
    result["data_dir"] = backend.data_dir
    if backend.db_name:
        result["database"] = backend.db_name
    registry = None
    server = None
    profile_dir = profile_root / kind if args.profile else None
    spy = find_py_spy(args.py_spy) if args.profile else None
    spy_dir = profile_dir if spy else None
    if profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)
    profiles: dict[str, Any] = {}
    result["py_spy"] = profiles
    try:
        say(f"[{kind}] generating >= {args.events:,} events in {args.repos:,} repositories")
        registry = open_registry(backend)
        with Phase("generate") as phase:
            log = generate(registry, args.repos, args.events, args.hot_moves, args.batch, args.seed)
        result["log"] = {**log, "load": phase.as_dict()}
        say(f"[{kind}] log: {log['head']:,} events ({log['events_per_s']:,} events/s written)")

        say(f"[{kind}] catching up the projections")
        with PySpy(spy, os.getpid(), spy_dir / "catch_up.txt" if spy_dir else None, idle=True) as s, \
                Phase("catch_up") as phase:
            result["catch_up"] = catch_up(registry, log["head"])
        profiles["catch_up"] = s.summary()
        result["catch_up"]["load"] = phase.as_dict()
        result["sizes_after_catch_up"] = backend.sizes()

        say(f"[{kind}] rebuilding the OCI view")
        with PySpy(spy, os.getpid(), spy_dir / "rebuild.txt" if spy_dir else None, idle=True) as s, \
                Phase("rebuild") as phase:
            result["rebuild"] = rebuild_oci(registry)
        profiles["rebuild"] = s.summary()
        result["rebuild"]["load"] = phase.as_dict()
        rb = result["rebuild"]
        say(f"[{kind}] rebuild: {rb['events_per_s']:,} events/s end to end, replay "
            f"{rb['replay_events_per_s']:,} events/s, checksum matches: {rb['checksum_matches_live']}")
        if profile_dir:
            say(f"[{kind}] profiling a replay of {args.profile_events:,} events")
            result["rebuild_profile"] = profile_replay(registry, args.profile_events,
                                                       profile_dir / "rebuild.txt")
        registry.close()
        registry = None

        say(f"[{kind}] starting the server")
        server = Server(backend)
        started_in, _ = server.start(spy=spy, spy_out=spy_dir / "server_start.txt" if spy_dir else None)
        result["server_start_s"] = round(started_in, 2)
        profiles["server_start"] = server.startup_profile
        client = Client(server.port)
        try:
            say(f"[{kind}] artifact list now vs at={log['past_position']} ({args.requests} requests each)")
            with PySpy(spy, server.pid, spy_dir / "server_artifacts.txt" if spy_dir else None,
                       subprocesses=True) as s:
                result["artifacts"] = measure_artifacts(client, log, args.requests, server.pid)
            profiles["server_artifacts"] = s.summary()
            a = result["artifacts"]
            say(f"[{kind}]   now {a['now']['median_ms']} ms, past {a['past']['median_ms']} ms (median)")
            say(f"[{kind}] tag history ({args.requests} requests)")
            with PySpy(spy, server.pid, spy_dir / "server_tag_history.txt" if spy_dir else None,
                       subprocesses=True) as s:
                result["tag_history"] = measure_tag_history(client, args.requests, server.pid)
            profiles["server_tag_history"] = s.summary()
            say(f"[{kind}]   {result['tag_history']['median_ms']} ms median, "
                f"{result['tag_history']['entries']} entries")
            say(f"[{kind}] event feed from 0, limit={args.feed_limit}")
            with PySpy(spy, server.pid, spy_dir / "server_feed.txt" if spy_dir else None,
                       subprocesses=True) as s:
                result["feed"] = measure_feed(client, args.feed_limit, log["head"], server.pid,
                                              args.feed_time_limit)
            profiles["server_feed"] = s.summary()
            say(f"[{kind}]   {result['feed']['events']:,} events in {result['feed']['seconds']} s "
                f"= {result['feed']['events_per_s']:,} events/s")
        finally:
            client.close()
            server.stop()
            server = None

        say(f"[{kind}] timing each query in process")
        registry = open_registry(backend)
        result["breakdown"] = breakdown(registry, log, args.breakdown_calls, profile_dir)
        result["plans"] = explain(registry, log)
        result["what_if"] = what_if(registry, log, kind, args)
        result["sizes"] = backend.sizes()
    except Exception as error:  # keep the other backend's run and the partial results
        import traceback

        traceback.print_exc()
        result["errors"].append(f"{type(error).__name__}: {error}")
    finally:
        if server is not None:
            server.stop()
        if registry is not None:
            registry.close()
        backend.cleanup()
    return result


# ---------------------------------------------------------------------------- report


def figures(result: dict) -> dict:
    get = lambda *keys: _dig(result, keys)  # noqa: E731
    return {
        "rebuild_events_per_s": get("rebuild", "events_per_s"),
        "artifacts_now_median_ms": get("artifacts", "now", "median_ms"),
        "artifacts_past_median_ms": get("artifacts", "past", "median_ms"),
        "artifacts_past_over_now": get("artifacts", "past_over_now"),
        "tag_history_median_ms": get("tag_history", "median_ms"),
        "feed_events_per_s": get("feed", "events_per_s"),
    }


def _dig(d: Any, keys: tuple) -> Any:
    for key in keys:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def verdict(name: str, value: Any) -> dict:
    unit, op, target = TARGETS[name]
    if value is None:
        return {"value": None, "target": target, "ok": None, "miss": "not measured"}
    ok = value >= target if op == ">=" else value <= target
    if ok:
        miss = ""
    elif op == ">=":
        miss = f"{target / value:.1f}x too slow ({value:,} vs {target:,})" if value else "zero"
    else:
        miss = f"{value / target:.1f}x over"
    return {"value": value, "target": f"{op} {target:,}", "unit": unit, "ok": ok, "miss": miss}


def table(results: list[dict]) -> str:
    lines = []
    backends = [r["backend"] for r in results]
    head = f"{'figure':<28}{'target':>14}" + "".join(f"{b:>16}{'':>10}" for b in backends)
    lines.append(head)
    lines.append("-" * len(head))
    for name, (unit, op, target) in TARGETS.items():
        row = f"{name:<28}{op + ' ' + format(target, ','):>14}"
        for r in results:
            v = r["verdicts"][name]
            value = "-" if v["value"] is None else format(v["value"], ",")
            row += f"{value:>16}{('ok' if v['ok'] else 'MISS' if v['ok'] is False else '?'):>10}"
        lines.append(row)
    extra = [
        ("generate events/s", ("log", "events_per_s")),
        ("log events", ("log", "head")),
        ("catch-up all views events/s", ("catch_up", "events_per_s_all_views")),
        ("catch-up OCI view events/s", ("catch_up", "events_per_s_oci")),
        ("rebuild replay events/s", ("rebuild", "replay_events_per_s")),
        ("rebuild swap+checksum s", ("rebuild", "swap_and_checksum_seconds")),
        ("rebuild checksum == live", ("rebuild", "checksum_matches_live")),
        ("artifacts now p90 ms", ("artifacts", "now", "p90_ms")),
        ("artifacts past p90 ms", ("artifacts", "past", "p90_ms")),
        ("tag history entries", ("tag_history", "entries")),
        ("feed events read", ("feed", "events")),
        ("feed page median ms", ("feed", "page", "median_ms")),
    ]
    lines.append("")
    for label, keys in extra:
        row = f"{label:<42}"
        for r in results:
            v = _dig(r, keys)
            row += f"{('-' if v is None else format(v, ',') if not isinstance(v, bool) else str(v)):>26}"
        lines.append(row)
    lines.append("")
    for r in results:
        for name, v in r["verdicts"].items():
            if v["ok"] is False:
                lines.append(f"{r['backend']}: {name} missed: {v['miss']}")
        for error in r["errors"]:
            lines.append(f"{r['backend']}: ERROR {error}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgres"],
                        help="repeatable; default: both")
    parser.add_argument("--events", type=int, default=1_000_000, help="minimum log size (default 1,000,000)")
    parser.add_argument("--repos", type=int, default=10_000, help="repositories in project library")
    parser.add_argument("--hot-moves", type=int, default=1_000, help="moves of the hot tag")
    parser.add_argument("--batch", type=int, default=500, help="aggregates per app.save")
    parser.add_argument("--requests", type=int, default=200, help="HTTP requests per latency figure")
    parser.add_argument("--feed-limit", type=int, default=10_000, help="events per feed page")
    parser.add_argument("--feed-time-limit", type=float, default=540.0,
                        help="stop reading the feed after this many seconds")
    parser.add_argument("--breakdown-calls", type=int, default=50, help="calls per in-process query")
    parser.add_argument("--profile", action="store_true",
                        help="profile: py-spy (sampling) on catch-up, rebuild and the server during each "
                             "HTTP figure; cProfile of a short replay and of each query; reports go "
                             "to --profile-dir")
    parser.add_argument("--profile-dir", help="where --profile writes its reports "
                        "(default: a new folder under the temp dir)")
    parser.add_argument("--py-spy", help="py-spy binary used with --profile (default: the one on PATH; "
                        "'none' for cProfile only)")
    parser.add_argument("--profile-events", type=int, default=100_000,
                        help="events replayed under the profiler")
    parser.add_argument("--what-if", action="store_true",
                        help="SQLite: also replay the log with an index on open tag rows and with a "
                             "256 MiB page cache (about 2-4 extra minutes)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-data", action="store_true")
    parser.add_argument("--output", help="JSON results (default bench/results-history-<time>.json)")
    args = parser.parse_args(argv)
    backends = args.backend or ["sqlite", "postgres"]
    output = Path(args.output or ROOT / "bench" / f"results-history-{time.strftime('%Y%m%d-%H%M%S')}.json")
    from infra.http.logging import configure_logging

    configure_logging("console", "warning")
    results = []
    started = time.time()
    profile_root = Path(args.profile_dir or Path(tempfile.gettempdir()) /
                        f"tidemark-history-profile-{time.strftime('%Y%m%d-%H%M%S')}")
    if args.profile:
        say(f"profiles go to {profile_root}")
    for kind in backends:
        result = run_backend(kind, args, profile_root)
        result["figures"] = figures(result)
        result["verdicts"] = {name: verdict(name, value) for name, value in result["figures"].items()}
        results.append(result)
        _write(output, args, results, started)
    report = table(results)
    print("\n" + report)
    _write(output, args, results, started, report)
    print(f"\nresults: {output}")
    return 0 if all(not r["errors"] for r in results) else 1


def _write(output: Path, args: argparse.Namespace, results: list, started: float, report: str = "") -> None:
    doc = {
        "benchmark": "history",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "arguments": vars(args),
        "targets": {k: {"unit": u, "op": o, "value": v} for k, (u, o, v) in TARGETS.items()},
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "uptime_at_end": uptime()},
        "git": _git_head(),
        "results": results,
        "table": report,
    }
    output.write_text(json.dumps(doc, indent=2, default=str))


def _git_head() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


if __name__ == "__main__":
    sys.exit(main())
