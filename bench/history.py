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
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.history_parts.common import TARGETS, say  # noqa: E402
from bench.history_parts.load import uptime  # noqa: E402
from bench.history_parts.report import figures, table, verdict  # noqa: E402
from bench.history_parts.run import run_backend  # noqa: E402


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
