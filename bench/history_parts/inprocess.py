"""In process, server stopped: each query timed, the query plans, and what-if measurements."""
from __future__ import annotations

import argparse
import cProfile
import time
from pathlib import Path
from typing import Any, Callable

from bench.history_parts.common import HOT_REPO, HOT_TAG, PROJECT, say
from bench.history_parts.load import Phase
from bench.history_parts.measure import latency_summary
from bench.history_parts.profiling import write_profile


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
    feed = FeedFilter(admin, registry, None, None)
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
