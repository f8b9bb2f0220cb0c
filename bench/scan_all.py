"""Scan-all of 1,000 artifacts through the built-in scanner against a generated 50,000-record
OSV database; prints progress and the time taken. Not part of the test suite.

Starts a throw-away `tidemark serve` (with its built-in scanner), imports the generated OSV
database with `tidemark vulndb import`, pushes --artifacts images (each a Debian 12 layer whose
dpkg status lists --packages packages, a quarter of them affected), starts scan-all and
polls GET /api/v2.0/scans/all/metrics until it ends.

    .venv/bin/python bench/scan_all.py                          # 1,000 artifacts, 50,000 records
    .venv/bin/python bench/scan_all.py --artifacts 50 --records 2000   # a quick look
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.integration.servers import free_port  # noqa: E402
from tests.scanner_images import compress, dpkg_status, os_release, push_image, tar_of  # noqa: E402

ADMIN = ("admin", "Bench-Scan-All-Passw0rd")


def osv_dump(path: Path, packages: int, records: int) -> None:
    """Records for a quarter of the image's packages (fixed above the installed versions), the
    rest fillers for packages no image has."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dump:
        written = 0
        for n in range(0, packages, 4):
            record = {"id": f"BENCH-{n}", "modified": "2024-01-01T00:00:00Z", "aliases": [f"CVE-2024-{n + 10000}"],
                      "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
                      "affected": [{"package": {"ecosystem": "Debian:12", "name": f"pkg{n}"},
                                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},
                                                                                {"fixed": "9.0-1"}]}]}]}
            dump.writestr(f"{record['id']}.json", json.dumps(record))
            written += 1
        for n in range(max(0, records - written)):
            record = {"id": f"FILLER-{n}", "modified": "2024-01-01T00:00:00Z",
                      "affected": [{"package": {"ecosystem": "Debian:12", "name": f"absent{n}"},
                                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"},
                                                                                {"fixed": "1.0-1"}]}]}]}
            dump.writestr(f"{record['id']}.json", json.dumps(record))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=int, default=1000)
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--packages", type=int, default=40, help="dpkg packages per image")
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tidemark-scan-all-"))
    data = work / "data"
    started = time.monotonic()
    osv_dump(work / "osv.zip", args.packages, args.records)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDEMARK_")}
    done = subprocess.run([sys.executable, "-m", "infra.wiring.cli", "vulndb", "import", str(work / "osv.zip"),
                           "--data-dir", str(data)], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return 1
    print(f"vulndb import of {args.records} records: {time.monotonic() - started:.1f} s", flush=True)
    port = free_port()
    log = (work / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "infra.wiring.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--data-dir", str(data)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**env, "TIDEMARK_ADMIN_PASSWORD": ADMIN[1], "TIDEMARK_BUILTIN_SCANNER": "auto"})
    url = f"http://127.0.0.1:{port}"
    api = httpx.Client(base_url=url + "/api/v2.0", auth=ADMIN, timeout=60)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                listed = api.get("/scanners").json()
                if listed and api.get(f"/scanners/{listed[0]['uuid']}/metadata").status_code == 200:
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                print("the registry or its scanner did not start; see", work / "serve.log", file=sys.stderr)
                return 1
            time.sleep(0.3)
        api.post("/projects", json={"project_name": "bench"})
        headers = {"Authorization": "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()}
        pushing = time.monotonic()
        for n in range(args.artifacts):
            packages = [(f"pkg{p}", f"1.{n}-1") for p in range(args.packages)]
            layer = compress(tar_of([("file", "etc/os-release", os_release("debian", "12")),
                                     ("file", "var/lib/dpkg/status", dpkg_status(packages))]))
            push_image(url, f"bench/app{n % 50}", f"v{n}", [layer], headers)
            if (n + 1) % 100 == 0:
                print(f"pushed {n + 1}/{args.artifacts} images", flush=True)
        print(f"pushed {args.artifacts} images in {time.monotonic() - pushing:.1f} s", flush=True)
        scanning = time.monotonic()
        answer = api.post("/system/scanAll/schedule", json={"schedule": {"type": "Manual"}})
        assert answer.status_code == 201, answer.text
        last = None
        while time.monotonic() - scanning < args.timeout:
            metrics = api.get("/scans/all/metrics").json()
            line = f"{time.monotonic() - scanning:7.1f} s  {metrics['completed']}/{metrics['total']}  {metrics['metrics']}"
            if line != last:
                print(line, flush=True)
                last = line
            if not metrics["ongoing"] and metrics["total"] and metrics["completed"] == metrics["total"]:
                break
            time.sleep(2)
        seconds = time.monotonic() - scanning
        print(f"scan-all of {metrics['total']} artifacts: {seconds:.1f} s "
              f"({metrics['total'] / max(seconds, 0.001):.1f} artifacts/s), {metrics['metrics']}")
        return 0 if metrics["metrics"].get("Success") == args.artifacts else 1
    finally:
        api.close()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
