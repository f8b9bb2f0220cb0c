"""Constants shared by the history benchmark's parts (names, password, targets) and `say`."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

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
