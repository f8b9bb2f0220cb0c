"""Benchmark Tidemark against Debian's docker-registry (CNCF Distribution) in one run.

    /work/venv/bin/python bench/run.py [--quick] [--only NAME ...]
        [--target-cmd 'distribution' | '<command template>'] [--output FILE]

See bench/README.md. Exit status 1 when any scenario failed on either side.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import report, scen_api, scen_blobs, servers  # noqa: E402
from bench.common import Ctx, Sizes, wait_idle  # noqa: E402

SCENARIOS = {
    "blob_push": scen_blobs.blob_push,
    "blob_pull": scen_blobs.blob_pull,
    "manifests": scen_api.manifests,
    "repos": scen_api.repos,
    "mounts": scen_api.mounts,
    "memory": scen_blobs.memory,
}
ALIASES = {"push": "blob_push", "pull": "blob_pull", "manifest": "manifests",
           "mount": "mounts", "mem": "memory"}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, short runs (smoke)")
    ap.add_argument("--only", action="append", default=[],
                    help=f"scenario(s) to run, repeatable or comma-separated: "
                         f"{', '.join(SCENARIOS)}")
    ap.add_argument("--target-cmd", default=os.environ.get("TIDEMARK_BENCH_TARGET_CMD"),
                    help="side under test: 'distribution' (a second docker-registry) or "
                         "a command template with {python} {host} {port} {data_dir} {tmp}; "
                         "default: Tidemark (env TIDEMARK_BENCH_TARGET_CMD)")
    ap.add_argument("--target-label", default=None)
    ap.add_argument("--target-user", default=os.environ.get("TIDEMARK_BENCH_USER"),
                    help="user for the target (default Tidemark: admin)")
    ap.add_argument("--target-password", default=os.environ.get("TIDEMARK_BENCH_PASSWORD"),
                    help="its password (default Tidemark: a random one the harness gives "
                         "the fresh server as TIDEMARK_ADMIN_PASSWORD)")
    ap.add_argument("--target-auth", choices=["bearer", "basic", "none"], default="bearer",
                    help="bearer: writes with Basic credentials, read-only load (wrk, hey, "
                         "pull) with a pull token from the server's token realm; basic: "
                         "Basic on every request; none: no credentials")
    ap.add_argument("--target-env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for the target server (repeatable)")
    ap.add_argument("--registry-bin",
                    default=os.environ.get("DOCKER_REGISTRY_BIN", "docker-registry"))
    ap.add_argument("--output", default=None, help="JSON results file "
                    "(default bench/results-<time>.json)")
    ap.add_argument("--upload-mode", choices=["auto", "post", "post-put"], default="auto",
                    help="blob upload for push/memory/setup: monolithic POST ?digest=, or "
                         "POST then PUT ?digest=; auto probes each server (Distribution "
                         "2.8 ignores a monolithic POST body and answers 202)")
    ap.add_argument("--pull-client", choices=["python", "wrk"], default="python")
    ap.add_argument("--order", choices=["alternate", "baseline-first", "target-first"],
                    default="alternate", help="which server each scenario drives first")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each scenario N times per server (alternating order, fresh "
                         "content and repositories each time) and report the median")
    ap.add_argument("--quiet-wait", type=float, default=20.0,
                    help="before each measurement wait up to this many seconds for the "
                         "whole machine to be nearly idle (0: only wait for the servers)")
    ap.add_argument("--no-ceiling", action="store_true",
                    help="skip the client-ceiling run against a null server")
    ap.add_argument("--ready-timeout", type=float, default=60.0)
    ap.add_argument("--keep-data", action="store_true", help="keep temp dirs and logs")
    a = ap.parse_args(argv)
    names = []
    for item in a.only:
        for n in filter(None, (x.strip() for x in item.split(","))):
            n = ALIASES.get(n, n)
            if n not in SCENARIOS:
                ap.error(f"unknown scenario {n!r}; choose from {', '.join(SCENARIOS)}")
            names.append(n)
    a.scenarios = [n for n in SCENARIOS if n in names] if names else list(SCENARIOS)
    is_dist = (a.target_cmd or "").strip() == "distribution"
    a.target_label = a.target_label or ("dist-target" if is_dist else "tidemark")
    if a.output is None:
        a.output = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                time.strftime("results-%Y%m%d-%H%M%S.json"))
    return a


def _version(argv) -> str:
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "unknown"


def _meta(a, sizes, base, target) -> dict:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    rev = _version(["git", "-C", servers.REPO_ROOT, "rev-parse", "--short", "HEAD"])
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": a.quick,
        "scenarios": a.scenarios, "sizes": dataclasses.asdict(sizes),
        "upload_mode": a.upload_mode, "pull_client": a.pull_client, "order": a.order,
        "repeat": a.repeat, "quiet_wait": a.quiet_wait,
        "cpus": os.cpu_count(), "cpu_model": cpu, "git_rev": rev,
        "versions": {"docker-registry": _version([a.registry_bin, "--version"]),
                     "wrk": _version(["wrk", "-v"]),
                     "hey": shutil.which("hey") or "missing",
                     "python": sys.version.split()[0]},
        "servers": {s.label: {
            "command": getattr(s, "command", None), "port": s.port, "tmp": s.tmp,
            "env": {k: ("***" if "PASSWORD" in k else v) for k, v in s.env.items()},
            "user": s.credentials[0] if s.credentials else None,
            "auth": s.auth if s.credentials else "none"} for s in (base, target)},
    }


def _on_signal(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    a = parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    for tool in (a.registry_bin, "wrk"):
        if not shutil.which(tool):
            print(f"missing {tool}: apt-get install docker-registry wrk hey", file=sys.stderr)
            return 2
    sizes = Sizes.quick() if a.quick else Sizes()
    ctx = Ctx(sizes=sizes, upload_mode=a.upload_mode, pull_client=a.pull_client)
    base = servers.Server("distribution", "distribution", registry_bin=a.registry_bin,
                          keep=a.keep_data)
    extra_env = dict(kv.split("=", 1) for kv in a.target_env if "=" in kv)
    target = servers.make_target(a.target_label, a.target_cmd, a.registry_bin, a.keep_data,
                                 a.target_user, a.target_password, a.target_auth, extra_env)
    results: dict = {}
    doc: dict = {}
    ceiling: list = []
    failed = False
    try:
        for srv in (base, target):
            t0 = time.monotonic()
            srv.start(a.ready_timeout)
            srv.ready_s = round(time.monotonic() - t0, 2)
            log(f"{srv.label}: ready in {srv.ready_s}s on {srv.base} (pid {srv.pid})")
        time.sleep(2.0)
        wait_idle([base, target])
        for srv in (base, target):
            ctx.idle_rss_kb[srv.label] = srv.rss_kb()
        doc["meta"] = _meta(a, sizes, base, target)
        doc["meta"]["ready_s"] = {s.label: s.ready_s for s in (base, target)}
        for i, name in enumerate(a.scenarios):
            runs: dict = {base.label: [], target.label: []}
            for rep in range(max(1, a.repeat)):
                ctx.new_round(rep)
                order = [base, target]
                if a.order == "target-first" or (a.order == "alternate" and (i + rep) % 2):
                    order.reverse()
                for srv in order:
                    runs[srv.label].append(run_one(name, srv, ctx, [base, target],
                                                   a.quiet_wait))
            results[name] = {label: report.merge_runs(r) for label, r in runs.items()}
            failed |= any(r["error"] for r in results[name].values())
            doc["results"] = results
            doc["upload_modes"] = ctx.modes
            report.write_json(a.output, doc)
        want_push, want_pull = "blob_push" in a.scenarios, "blob_pull" in a.scenarios
        if not a.no_ceiling and (want_push or want_pull):
            log("client ceiling against a null server ...")
            try:
                ceiling = scen_blobs.ceiling(ctx, want_push, want_pull)
            except Exception as e:  # noqa: BLE001
                log(f"ceiling failed: {e!r}")
                doc["ceiling_error"] = repr(e)
    except KeyboardInterrupt as e:
        log(f"interrupted: {e}")
        failed = True
    except Exception:
        log("run failed:\n" + traceback.format_exc())
        doc["fatal"] = traceback.format_exc()
        failed = True
    finally:
        for srv in (base, target):
            if srv.proc is not None and not srv.alive():
                doc.setdefault("server_died", {})[srv.label] = srv.log_tail()
            try:
                srv.stop()
            except Exception as e:  # noqa: BLE001
                log(f"stopping {srv.label}: {e!r}")
    rows = report.build_rows(results, base.label, target.label)
    doc.update({"rows": rows, "ceiling": ceiling, "results": results,
                "upload_modes": ctx.modes})
    report.write_json(a.output, doc)
    print(report.format_table(rows, base.label, target.label, ceiling))
    print(f"\nupload modes: {ctx.modes or 'n/a'}; JSON: {a.output}")
    if "fatal" in doc:
        print("FATAL: " + doc["fatal"].strip().splitlines()[-1])
    return 1 if failed else 0


def run_one(name: str, srv, ctx: Ctx, both, quiet_wait: float) -> dict:
    if not srv.alive():
        rc = srv.proc.returncode if srv.proc else None
        return {"metrics": None,
                "error": f"server not running (exit status {rc}); log tail:\n{srv.log_tail()}"}
    settled = wait_idle(both)
    if quiet_wait > 0:
        settled = wait_idle(both, timeout=quiet_wait, machine_pct=30.0) and settled
    log(f"[{name}] {srv.label}{f' (round {ctx.round + 1})' if ctx.round else ''} ..."
        + ("" if settled else " (machine not idle)"))
    t0 = time.monotonic()
    try:
        metrics = SCENARIOS[name](srv, ctx)
        err = None
    except Exception as e:  # noqa: BLE001 - reported per scenario
        metrics, err = None, f"{type(e).__name__}: {e}\n{traceback.format_exc()}"
        if not srv.alive():
            err += f"\nserver died; log tail:\n{srv.log_tail()}"
    for m in metrics or []:
        log(f"    {m['metric'].strip()}: {m['value']} {m['unit']}")
    if err:
        log(f"    ERROR {err.splitlines()[0]}")
    return {"metrics": metrics, "error": err, "seconds": round(time.monotonic() - t0, 1),
            "servers_idle_before": settled}


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S ") + msg, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
