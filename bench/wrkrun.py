"""Run wrk with a generated Lua script and parse its summary (printed as JSON by done())."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

LUA = r"""
wrk.method = "%(method)s"
%(headers)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"bytes":%%.0f,' ..
    '"connect_errors":%%d,"read_errors":%%d,"write_errors":%%d,' ..
    '"status_errors":%%d,"timeouts":%%d,"lat_mean_us":%%.1f,' ..
    '"lat_p50_us":%%.0f,"lat_p90_us":%%.0f,"lat_p99_us":%%.0f,"lat_max_us":%%.0f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout, latency.mean,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
"""


class WrkError(RuntimeError):
    pass


def wrk_available(binary: str = "wrk") -> bool:
    return shutil.which(binary) is not None


def run_wrk(url: str, *, method: str = "GET", headers: dict | None = None,
            threads: int = 2, connections: int = 32, duration: float = 10.0,
            timeout_s: int = 30, binary: str = "wrk") -> dict:
    """Returns the parsed summary plus derived req_per_s, mb_per_s, p99_ms.
    wrk counts HTTP status >= 400 as status_errors; socket errors are reported too."""
    hdr_lines = "\n".join(
        f'wrk.headers["{k}"] = "{v}"' for k, v in (headers or {}).items())
    script = LUA % {"method": method, "headers": hdr_lines}
    fd, path = tempfile.mkstemp(prefix="bench-wrk-", suffix=".lua")
    with os.fdopen(fd, "w") as f:
        f.write(script)
    dur = max(1, int(round(duration)))
    argv = [binary, "-t", str(threads), "-c", str(connections), "-d", f"{dur}s",
            "--timeout", f"{timeout_s}s", "--latency", "-s", path, url]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=dur + timeout_s + 30)
    except subprocess.TimeoutExpired as e:
        raise WrkError(f"wrk did not finish: {argv}") from e
    finally:
        os.unlink(path)
    line = next((l for l in p.stdout.splitlines() if l.startswith("WRKJSON ")), None)
    if p.returncode != 0 or line is None:
        raise WrkError(f"wrk failed rc={p.returncode}: {p.stderr.strip()} {p.stdout[-500:]}")
    res = json.loads(line[len("WRKJSON "):])
    secs = res["duration_us"] / 1e6
    res["req_per_s"] = round(res["requests"] / secs, 1) if secs else 0.0
    res["mb_per_s"] = round(res["bytes"] / secs / 1e6, 1) if secs else 0.0
    res["p99_ms"] = round(res["lat_p99_us"] / 1000, 3)
    res["p50_ms"] = round(res["lat_p50_us"] / 1000, 3)
    res["errors"] = sum(res[k] for k in (
        "connect_errors", "read_errors", "write_errors", "status_errors", "timeouts"))
    res["argv"] = " ".join(argv[:-3] + [argv[-1]])
    return res


def run_hey(url: str, *, method: str = "GET", headers: dict | None = None,
            connections: int = 32, duration: float = 10.0, timeout_s: int = 30,
            binary: str = "hey") -> dict:
    """hey is used for HEAD only: wrk 4.1 waits for a body after a HEAD response
    that carries Content-Length and never completes a request."""
    dur = max(1, int(round(duration)))
    argv = [binary, "-z", f"{dur}s", "-c", str(connections), "-m", method,
            "-t", str(timeout_s), "-disable-compression"]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    argv.append(url)
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=dur + timeout_s + 30)
    except subprocess.TimeoutExpired as e:
        raise WrkError(f"hey did not finish: {argv}") from e
    if p.returncode != 0:
        raise WrkError(f"hey failed rc={p.returncode}: {p.stderr.strip()}")
    res: dict = {"statuses": {}, "error_lines": []}
    section = ""
    for line in p.stdout.splitlines():
        t = line.strip()
        if t.startswith("Requests/sec:"):
            res["req_per_s"] = round(float(t.split()[1]), 1)
        elif "% in " in t and t.endswith("secs"):
            pct, rest = t.split("%", 1)
            res[f"lat_p{pct}_ms"] = round(float(rest.split()[1]) * 1000, 3)
        elif t.startswith("Status code distribution"):
            section = "status"
        elif t.startswith("Error distribution"):
            section = "error"
        elif section == "status" and t.startswith("["):
            code, n = t[1:].split("]")
            res["statuses"][code] = int(n.split()[0])
        elif section == "error" and t:
            res["error_lines"].append(t)
    if "req_per_s" not in res:
        raise WrkError(f"cannot parse hey output: {p.stdout[-500:]}")
    res["requests"] = sum(res["statuses"].values())
    bad = sum(n for c, n in res["statuses"].items() if not c.startswith("2"))
    res["errors"] = bad + len(res["error_lines"])
    res["p99_ms"] = res.get("lat_p99_ms")
    res["p50_ms"] = res.get("lat_p50_ms")
    res["argv"] = " ".join(argv)
    return res
