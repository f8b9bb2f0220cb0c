"""One backend end to end: generate, catch up, rebuild, the HTTP figures, the in-process timings."""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from bench.history_parts.backends import Backend, open_registry
from bench.history_parts.catchup import catch_up, rebuild_oci
from bench.history_parts.common import say
from bench.history_parts.eventlog import generate
from bench.history_parts.inprocess import breakdown, explain, what_if
from bench.history_parts.load import Phase
from bench.history_parts.measure import measure_artifacts, measure_feed, measure_tag_history
from bench.history_parts.profiling import PySpy, find_py_spy, profile_replay
from bench.history_parts.server import Client, Server


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
