"""API scenarios: manifest/tag/base endpoints under wrk, many repositories, mounts."""
from __future__ import annotations

import os
import shutil

from bench import client, loadgen, procstat, wrkrun
from bench.common import Ctx, metric

MANIFEST_REPO = "library/bench-manifest"
MOUNT_SRC = "library/bench-mount-src"
ACCEPT = {"Accept": client.MANIFEST_ACCEPT}


def _image(ctx: Ctx):
    if "image" not in ctx.cache:
        layers = [os.urandom(64 << 10), os.urandom(256 << 10)]
        config = client.tiny_config("bench-manifest")
        ctx.cache["image"] = (config, layers, client.image_manifest(config, layers))
    return ctx.cache["image"]


def _preflight(srv, method: str, path: str, manifest: bytes, digest: str,
               headers: dict) -> None:
    conn = client.Conn(srv.host, srv.port, headers=headers)
    try:
        st, h, body = conn.request(method, path, headers=ACCEPT)
    finally:
        conn.close()
    if st != 200:
        raise RuntimeError(f"{method} {path}: HTTP {st} {body[:200]!r}")
    if "/manifests/" in path:
        if h.get("docker-content-digest") not in (None, digest):
            raise RuntimeError(f"{method} {path}: digest {h.get('docker-content-digest')}")
        if method == "GET" and body != manifest:
            raise RuntimeError(f"GET {path}: manifest bytes differ")
        if not h.get("content-type", "").startswith(client.OCI_MANIFEST):
            raise RuntimeError(f"{method} {path}: content-type {h.get('content-type')}")


def manifests(srv, ctx: Ctx) -> list[dict]:
    s = ctx.sizes
    config, layers, manifest = _image(ctx)
    conn = srv.conn()
    try:
        tags = ["latest"] + [f"t{i}" for i in range(1, s.manifest_tags)]
        digest = client.push_image(conn, MANIFEST_REPO, layers, tags, ctx.mode_for(srv),
                                   config=config)
    finally:
        conn.close()
    endpoints = [
        ("GET manifest by tag", "GET", f"/v2/{MANIFEST_REPO}/manifests/latest"),
        ("GET manifest by digest", "GET", f"/v2/{MANIFEST_REPO}/manifests/{digest}"),
        ("HEAD manifest by tag", "HEAD", f"/v2/{MANIFEST_REPO}/manifests/latest"),
        ("GET tags/list", "GET", f"/v2/{MANIFEST_REPO}/tags/list"),
        ("GET /v2/", "GET", "/v2/"),
    ]
    out = []
    read = srv.read_headers(MANIFEST_REPO)
    auth = read.get("Authorization", "none").split(" ")[0]
    for name, method, path in endpoints:
        _preflight(srv, method, path, manifest, digest, read)
        url = f"http://{srv.host}:{srv.port}{path}"
        if method == "HEAD" and not shutil.which("hey"):
            raise RuntimeError("HEAD needs `hey` (apt-get install hey)")
        for seconds in (1, s.wrk_seconds):  # 1 s warm-up, then the measurement
            with procstat.CpuMeter(srv.pid) as cpu:
                if method == "HEAD":
                    r = wrkrun.run_hey(url, method="HEAD", headers={**ACCEPT, **read},
                                       connections=32, duration=seconds)
                    tool = "hey -c 32"
                else:
                    r = wrkrun.run_wrk(url, method=method, headers={**ACCEPT, **read},
                                       threads=2,
                                       connections=32, duration=seconds)
                    tool = "wrk -t2 -c32"
        detail = {"tool": tool, "auth": auth, **r, **cpu.as_dict()}
        if r["errors"]:
            detail["warning"] = f"{r['errors']} errors/non-2xx"
        out.append(metric(f"{name}: req/s", r["req_per_s"], "req/s", "higher", **detail))
        out.append(metric(f"{name}: p99", r["p99_ms"], "ms", "lower", tool=tool))
    return out


def repos(srv, ctx: Ctx) -> list[dict]:
    """N repositories: config blob + layer blob (POST+PUT each, same requests on
    both sides), manifest PUT by digest, then `repo_tags` tag PUTs."""
    s = ctx.sizes
    key = ("r", ctx.round, "repo-layers", s.repos)
    if key not in ctx.cache:
        ctx.cache[key] = [os.urandom(1024) for _ in range(s.repos)]
    layers = ctx.cache[key]

    def one(state, i):
        conn = state.setdefault("conn", srv.conn())
        repo = f"library/bench-repo-{ctx.round}-{i:04d}"
        config = client.tiny_config(repo)
        for blob in (config, layers[i]):
            client.push_blob(conn, repo, blob, client.sha256(blob), "post-put")
        manifest = client.image_manifest(config, [layers[i]])
        client.put_manifest(conn, repo, client.sha256(manifest), manifest)
        for t in range(s.repo_tags):
            client.put_manifest(conn, repo, f"v{t}", manifest)
        return 1

    with procstat.CpuMeter(srv.pid) as cpu:
        r = loadgen.run_parallel(one, list(range(s.repos)), s.client_threads,
                                 s.scenario_time_limit)
    if r["errors"]:
        raise RuntimeError(f"{r['errors']} repo pushes failed, first: {r['first_error']}")
    reqs = r["done"] * (4 + 1 + s.repo_tags)
    detail = {"repos_done": r["done"], "requests": reqs, "threads": s.client_threads,
              "repo_p50_ms": r["p50_ms"], "repo_p99_ms": r["p99_ms"],
              "timed_out": r["timed_out"], **cpu.as_dict()}
    name = f"{s.repos} repos x {s.repo_tags} tags, total"
    if r["done"] < s.repos:
        detail["warning"] = f"INCOMPLETE: time limit hit after {r['done']} repos"
    return [
        metric(name, r["elapsed_s"], "s", "lower", **detail),
        metric("  requests/s during it", round(reqs / r["elapsed_s"], 1), "req/s",
               "higher", requests=reqs),
    ]


def mounts(srv, ctx: Ctx) -> list[dict]:
    """Mount `mount_sources` source blobs into many destination repositories; every
    (destination, blob) pair is distinct. Only 201 Created counts as a mount."""
    s = ctx.sizes
    blobs = ctx.distinct_blobs("mount", s.mount_sources, s.mount_blob, per_round=False)
    conn = srv.conn()
    try:
        for data, digest in blobs:
            if not client.blob_exists(conn, MOUNT_SRC, digest):
                client.push_blob(conn, MOUNT_SRC, data, digest, ctx.mode_for(srv))
    finally:
        conn.close()
    k = len(blobs)

    def one(state, i):
        c = state.setdefault("conn", srv.conn())
        return client.mount_blob(c, f"library/bench-mount-dst-{ctx.round}-{i // k:04d}",
                                 blobs[i % k][1], MOUNT_SRC)

    with procstat.CpuMeter(srv.pid) as cpu:
        r = loadgen.run_parallel(one, list(range(s.mounts)), s.client_threads,
                                 s.scenario_time_limit)
    statuses: dict[str, int] = {}
    for st in r["results"]:
        statuses[str(st)] = statuses.get(str(st), 0) + 1
    ok = statuses.get("201", 0)
    detail = {"statuses": statuses, "attempted": s.mounts, "request_errors": r["errors"],
              "threads": s.client_threads, "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"],
              "timed_out": r["timed_out"], **cpu.as_dict()}
    if ok != s.mounts:
        detail["warning"] = f"only {ok}/{s.mounts} mounts returned 201: {statuses}"
    return [
        metric(f"cross-repo mounts ({s.client_threads} threads, 201 only)",
               round(ok / r["elapsed_s"], 1), "mounts/s", "higher", **detail),
        metric("  mount p99 latency", r["p99_ms"], "ms", "lower"),
    ]
