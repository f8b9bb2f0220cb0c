"""Pair baseline/target metrics into rows, print the table, write the JSON file."""
from __future__ import annotations

import json
import os


def _ratio(base, target):
    if isinstance(base, (int, float)) and isinstance(target, (int, float)) and base:
        return round(target / base, 2)
    return None


def _cpu(detail: dict) -> str:
    if "server_cpu_pct" not in detail:
        return ""
    return (f"{detail['server_cpu_pct']:.0f}/{detail['client_cpu_pct']:.0f}"
            f"/{detail.get('machine_busy_pct', 0):.0f}")


def build_rows(results: dict, base: str, target: str) -> list[dict]:
    """results: {scenario: {label: {"metrics": [...], "error": str|None}}}."""
    rows = []
    for scen, sides in results.items():
        names: list[str] = []
        by: dict[str, dict[str, dict]] = {}
        for label in (base, target):
            for m in (sides.get(label) or {}).get("metrics") or []:
                if m["metric"] not in names:
                    names.append(m["metric"])
                by.setdefault(m["metric"], {})[label] = m
        for label in (base, target):
            err = (sides.get(label) or {}).get("error")
            if err and "ERROR" not in names:
                names.append("ERROR")
        for name in names:
            if name == "ERROR":
                rows.append({"scenario": scen, "metric": "ERROR", "unit": "",
                             "better": "", base: None, target: None, "ratio": None,
                             "errors": {l: (sides.get(l) or {}).get("error")
                                        for l in (base, target)}})
                continue
            pair = by[name]
            any_m = next(iter(pair.values()))
            bv = pair.get(base, {}).get("value")
            tv = pair.get(target, {}).get("value")
            rows.append({
                "scenario": scen, "metric": name, "unit": any_m["unit"],
                "better": any_m["better"], base: bv, target: tv, "ratio": _ratio(bv, tv),
                "detail": {l: pair[l]["detail"] for l in pair},
            })
    return rows


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
    return f"{v:,}"


def format_table(rows: list[dict], base: str, target: str,
                 ceiling: list[dict] | None = None) -> str:
    head = ["scenario", "metric", "unit", base, target, "ratio T/D",
            "better", "cpu% D s/c/all", "cpu% T s/c/all"]
    body, notes = [], []
    for r in rows:
        if r["metric"] == "ERROR":
            for label, e in r["errors"].items():
                if e:
                    notes.append(f"[{r['scenario']}] {label} ERROR: {e.splitlines()[0][:300]}")
            body.append([r["scenario"], "ERROR (see below)", "", "", "", "", "", "", ""])
            continue
        d = r.get("detail", {})
        cells = []
        for label in (base, target):
            txt = _fmt(r[label])
            w = d.get(label, {}).get("warning")
            dd = d.get(label, {})
            other = (dd.get("machine_busy_pct", 0) - dd.get("machine_irq_pct", 0)
                     - dd.get("server_cpu_pct", 0) - dd.get("client_cpu_pct", 0))
            if other > 40 and not w:
                w = (f"~{other:.0f}% of a core went to other processes or kernel "
                     "threads during the measurement (shared machine?)")
            if w:
                txt += " !"
                notes.append(f"[{r['scenario']}] {r['metric'].strip()} / {label}: {w}")
            cells.append(txt)
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        body.append([r["scenario"], r["metric"], r["unit"], *cells, ratio,
                     r["better"], _cpu(d.get(base, {})), _cpu(d.get(target, {}))])
    for c in ceiling or []:
        body.append(["ceiling", c["metric"], c["unit"], _fmt(c["value"]),
                     "(null server)", "", "", "", _cpu(c["detail"])])
    widths = [max(len(str(x[i])) for x in [head] + body) for i in range(len(head))]
    right = {3, 4, 5}
    lines = []
    for i, row in enumerate([head] + body):
        lines.append("  ".join(str(c).rjust(w) if j in right else str(c).ljust(w)
                               for j, (c, w) in enumerate(zip(row, widths))).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(f"ratio T/D = {target}/{base}; 'better' says which direction is good.")
    lines.append("cpu% s/c/all = server tree / client (incl. wrk, hey) / whole machine, "
                 "in % of one core (this box has "
                 f"{os.cpu_count()} cores, so {100 * (os.cpu_count() or 1)} = saturated).")
    if ceiling:
        lines.append("ceiling rows: the same client code against a null server "
                     "(bench/sink.py); figures near these are client/machine-bound. "
                     "Their cpu% is null-server/client/all.")
    lines.extend(notes)
    return "\n".join(lines)


def write_json(path: str, doc: dict) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2, default=str)
    os.replace(tmp, path)


def merge_runs(runs: list[dict]) -> dict:
    """Several repetitions of one scenario on one server -> one result whose values
    are the medians; every run's value and the spread go into the detail."""
    if len(runs) == 1:
        return runs[0]
    errors = [r["error"] for r in runs if r.get("error")]
    ok = [r["metrics"] for r in runs if r.get("metrics")]
    merged = []
    for i, m in enumerate(ok[0] if ok else []):
        same = [ms[i] for ms in ok if len(ms) > i and ms[i]["metric"] == m["metric"]]
        vals = [x["value"] for x in same if isinstance(x["value"], (int, float))]
        if not vals:
            merged.append(m)
            continue
        med = sorted(vals)[(len(vals) - 1) // 2]  # lower median: a value that was measured
        pick = next(x for x in same if x["value"] == med)
        spread = round(100 * (max(vals) - min(vals)) / med, 1) if med else None
        merged.append({**pick, "detail": {**pick["detail"], "runs": vals,
                                          "spread_pct": spread}})
    return {"metrics": merged or None, "error": errors[0] if errors else None,
            "seconds": round(sum(r.get("seconds", 0) for r in runs), 1),
            "repeats": len(runs)}
