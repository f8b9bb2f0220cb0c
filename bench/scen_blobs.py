"""Blob scenarios: push, pull, memory during a big push, and the client ceiling."""
from __future__ import annotations

import subprocess
import sys
import time
import types

from bench import client, loadgen, procstat, servers, wrkrun
from bench.common import Ctx, MiB, metric

PUSH_REPO = "library/bench-push"
PULL_REPO = "library/bench-pull"
MEM_REPO = "library/bench-memory"


def _push_many(srv, blobs, mode: str, threads: int, limit: float) -> dict:
    def one(state, item):
        conn = state.setdefault("conn", client.Conn(srv.host, srv.port,
                                                    headers=getattr(srv, "headers", None)))
        data, digest = item
        t = time.monotonic()
        client.push_blob(conn, PUSH_REPO, data, digest, mode)
        return time.monotonic() - t

    with procstat.CpuMeter(srv.pid) as cpu:
        r = loadgen.run_parallel(one, blobs, threads, limit)
    if r["errors"]:
        raise RuntimeError(f"{r['errors']} push errors, first: {r['first_error']}")
    nbytes = sum(len(blobs[i][0]) for i in range(r["done"]))
    return {"mb_per_s": round(nbytes / cpu.wall / 1e6, 1), "pushes": r["done"],
            "bytes": nbytes, "per_push_s": [round(x, 3) for x in r["results"]],
            "timed_out": r["timed_out"], **cpu.as_dict()}


def blob_push(srv, ctx: Ctx) -> list[dict]:
    s = ctx.sizes
    mode = ctx.mode_for(srv)
    seq = ctx.distinct_blobs("push-seq", s.push_count, s.push_layer)
    par = ctx.distinct_blobs("push-par", s.push_parallel_count, s.push_layer)
    warm = ctx.distinct_blobs("push-warm", 1, s.push_layer)
    mb = s.push_layer // MiB
    _push_many(srv, warm, mode, 1, s.scenario_time_limit)  # warm-up, not reported
    r1 = _push_many(srv, seq, mode, 1, s.scenario_time_limit)
    rn = _push_many(srv, par, mode, s.push_threads, s.scenario_time_limit)
    for r, n in ((r1, s.push_count), (rn, s.push_parallel_count)):
        if r["pushes"] < n:
            r["warning"] = f"INCOMPLETE: time limit hit after {r['pushes']}/{n} pushes"
    return [
        metric(f"{mb} MiB layers, 1 stream (x{s.push_count})", r1["mb_per_s"], "MB/s",
               "higher", upload_mode=mode, **r1),
        metric(f"{mb} MiB layers, {s.push_threads} streams (x{s.push_parallel_count})",
               rn["mb_per_s"], "MB/s", "higher", upload_mode=mode, **rn),
    ]


def _pull(host, port, path, streams, seconds, how, headers=None) -> dict:
    if how == "wrk":
        r = wrkrun.run_wrk(f"http://{host}:{port}{path}", threads=min(2, streams),
                           connections=streams, duration=seconds, timeout_s=60,
                           headers=headers)
        if r["errors"]:
            raise RuntimeError(f"wrk errors: {r}")
        return r
    r = loadgen.pull_streams(host, port, path, streams, seconds, headers)
    if r["errors"]:
        raise RuntimeError(f"pull errors: {r['first_error']}")
    return r


def blob_pull(srv, ctx: Ctx) -> list[dict]:
    s = ctx.sizes
    (data, digest), = ctx.distinct_blobs("pull", 1, s.pull_blob, per_round=False)
    conn = srv.conn()
    try:
        if not client.blob_exists(conn, PULL_REPO, digest):
            client.push_blob(conn, PULL_REPO, data, digest, ctx.mode_for(srv))
    finally:
        conn.close()
    read = srv.read_headers(PULL_REPO)
    conn = client.Conn(srv.host, srv.port, headers=read)
    try:
        st, h, _ = conn.request("HEAD", f"/v2/{PULL_REPO}/blobs/{digest}")
    finally:
        conn.close()
    if st != 200 or int(h.get("content-length", -1)) != len(data):
        raise RuntimeError(f"HEAD blob: {st} {h} (redirects are not followed)")
    path = f"/v2/{PULL_REPO}/blobs/{digest}"
    _pull(srv.host, srv.port, path, 1, 1.0, "python", read)  # warm-up, not reported
    out = []
    for streams in (1, 8):
        with procstat.CpuMeter(srv.pid) as cpu:
            r = _pull(srv.host, srv.port, path, streams, s.pull_seconds, ctx.pull_client,
                      read)
        out.append(metric(f"{s.pull_blob // MiB} MiB blob, {streams} stream(s)",
                          r["mb_per_s"], "MB/s", "higher", client=ctx.pull_client,
                          auth=read.get("Authorization", "none").split(" ")[0],
                          **{k: v for k, v in r.items() if k != "mb_per_s"},
                          **cpu.as_dict()))
    return out


def memory(srv, ctx: Ctx) -> list[dict]:
    """Idle RSS (taken at start-up) and the rise of the server tree's RSS while a
    big layer is pushed, once monolithically (POST or POST+PUT) and once as
    POST + one streamed PATCH + PUT (what docker does)."""
    s = ctx.sizes
    gib = f"{s.memory_layer / (1 << 30):g} GiB"
    idle = ctx.idle_rss_kb.get(srv.label)
    out = [metric("idle RSS after start", round(idle / 1024, 1) if idle else None,
                  "MiB", "lower")]
    mode = ctx.mode_for(srv)
    for variant in ("monolithic", "patch"):
        chunks, digest = ctx.big_layer(variant, s.memory_layer)
        conn = srv.conn(timeout=300)
        time.sleep(1.0)
        before = srv.rss_kb()
        hwm_before = procstat.hwm_kb(srv.pid)
        t0 = time.monotonic()
        try:
            with procstat.RssSampler(srv.pid) as sampler:
                if variant == "monolithic":
                    client.push_blob(conn, MEM_REPO, chunks, digest, mode)
                else:
                    client.push_blob_chunked(conn, MEM_REPO, chunks, digest)
        finally:
            conn.close()
        secs = time.monotonic() - t0
        time.sleep(2.0)
        after = srv.rss_kb()
        rise = (sampler.peak_kb - before) / 1024
        how = ("monolithic POST" if mode == "post" else "POST+PUT"
               ) if variant == "monolithic" else "POST+PATCH+PUT"
        out.append(metric(f"RSS rise pushing {gib} ({variant})", round(max(rise, 0), 1),
                          "MiB", "lower", requests=how, rise_raw_mib=round(rise, 1),
                          rss_before_mib=round(before / 1024, 1),
                          rss_peak_mib=round(sampler.peak_kb / 1024, 1),
                          rss_after_2s_mib=round(after / 1024, 1),
                          hwm_before_mib=round(hwm_before / 1024, 1),
                          hwm_after_mib=round(procstat.hwm_kb(srv.pid) / 1024, 1),
                          samples=len(sampler.samples), push_s=round(secs, 2),
                          push_mb_per_s=round(s.memory_layer / secs / 1e6, 1)))
    return out


def ceiling(ctx: Ctx, want_push: bool, want_pull: bool) -> list[dict]:
    """The same client code against a null server (bench/sink.py): what the client
    side can do on this machine. Measured figures near these are client-bound."""
    s = ctx.sizes
    port = servers.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.sink", "--port", str(port), "--size",
         str(s.pull_blob)], cwd=servers.REPO_ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)
    out = []
    try:
        if proc.stdout.readline().strip() != "READY":
            raise RuntimeError("sink did not start")

        sink = types.SimpleNamespace(label="sink", host=servers.HOST, port=port,
                                     pid=proc.pid)
        if want_push:
            seq = ctx.distinct_blobs("push-seq", s.push_count, s.push_layer)
            par = ctx.distinct_blobs("push-par", s.push_parallel_count, s.push_layer)
            mb = s.push_layer // MiB
            # each set 4 times over: the null server is fast, CPU ticks are 10 ms
            r1 = _push_many(sink, seq * 4, "post", 1, 120)
            rn = _push_many(sink, par * 4, "post", s.push_threads, 120)
            out.append(metric(f"push {mb} MiB, 1 stream", r1["mb_per_s"], "MB/s",
                              "higher", **r1))
            out.append(metric(f"push {mb} MiB, {s.push_threads} streams",
                              rn["mb_per_s"], "MB/s", "higher", **rn))
        if want_pull:
            for streams in (1, 8):
                with procstat.CpuMeter(proc.pid) as cpu:
                    r = _pull(sink.host, port, "/blob", streams, min(s.pull_seconds, 4),
                              ctx.pull_client)
                out.append(metric(f"pull {s.pull_blob // MiB} MiB, {streams} stream(s)",
                                  r["mb_per_s"], "MB/s", "higher", client=ctx.pull_client,
                                  **cpu.as_dict()))
    finally:
        proc.kill()
        proc.wait(10)
    return out
