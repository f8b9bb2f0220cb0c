"""Catching up every projection and rebuilding the OCI view (replay, swap, checksum)."""
from __future__ import annotations

import time
from typing import Any

from bench.history_parts.common import say


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
