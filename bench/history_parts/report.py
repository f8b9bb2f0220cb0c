"""The report: figures picked from a result, verdicts against the targets, the table."""
from __future__ import annotations

from typing import Any

from bench.history_parts.common import TARGETS


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
