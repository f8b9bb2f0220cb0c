"""The built-in scanner on an image of 1,000 packages: inventory + match in at most 5 s.

Standalone: starts a throw-away Tidemark and `tidemark scanner serve`, builds an image whose
three layers carry a dpkg status file (500 packages), 300 dist-info directories and 200
npm packages, pushes it, imports a generated OSV database (--records, half of the packages
affected) with `tidemark vulndb import`, and times scans through the adapter API (POST
/scan, poll the report until 200). It then times the two phases the target is about,
inventory and match, in this process on the same layers.

    /work/venv/bin/python bench/scanner.py                     # ~20 s
    /work/venv/bin/python bench/scanner.py --records 20000 --repeat 5
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import select
import shutil
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

from bench.servers import make_target  # noqa: E402
from tests.scanner_images import compress, dpkg_status, os_release, push_image, tar_of  # noqa: E402

TARGET_SECONDS = 5.0
REPOSITORY = "bench/scanned"
SITE = "usr/local/lib/python3.11/site-packages"


def image_layers(packages: int) -> tuple[list[bytes], list[tuple[str, str, str]]]:
    """Layers with `packages` packages (half dpkg, 30 % Python, 20 % npm) and their list."""
    debs, pythons = packages // 2, packages * 3 // 10
    npms = packages - debs - pythons
    listed = [("Debian:12", f"lib{n}-bench", f"1.{n % 7}.{n}-1") for n in range(debs)]
    listed += [("PyPI", f"py-bench-{n}", f"2.{n % 5}.{n}") for n in range(pythons)]
    listed += [("npm", f"js-bench-{n}", f"3.{n % 3}.{n}") for n in range(npms)]
    status = dpkg_status([(name, version, f"src{name} ({version})") for _, name, version in listed[:debs]])
    base = [("file", "etc/os-release", os_release("debian", "12")), ("file", "var/lib/dpkg/status", status)]
    python = [("file", f"{SITE}/{name.replace('-', '_')}-{version}.dist-info/METADATA",
               f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode())
              for _, name, version in listed[debs:debs + pythons]]
    node = [("file", f"app/node_modules/{name}/package.json", json.dumps({"name": name, "version": version}).encode())
            for _, name, version in listed[debs + pythons:]]
    return [compress(tar_of(base)), compress(tar_of(python), "zstd"), compress(tar_of(node))], listed


def osv_dump(path: Path, listed: list[tuple[str, str, str]], records: int) -> int:
    """A zip like osv.dev's: a record for every other package (fixed above its version) and
    filler records for packages the image does not have."""
    written = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dump:
        for number, (ecosystem, name, version) in enumerate(listed):
            if number % 2:
                continue
            query = f"src{name}" if ecosystem.startswith("Debian") else name
            head, _, last = version.rpartition(".")
            fixed = version.replace("-1", "-2") if ecosystem.startswith("Debian") else f"{head}.{int(last) + 1}"
            record = {"id": f"BENCH-{number}", "modified": "2024-01-01T00:00:00Z", "aliases": [f"CVE-2024-{number + 10000}"],
                      "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
                      "affected": [{"package": {"ecosystem": ecosystem, "name": query},
                                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]}
            dump.writestr(f"{record['id']}.json", json.dumps(record))
            written += 1
        for number in range(max(0, records - written)):
            record = {"id": f"FILLER-{number}", "modified": "2024-01-01T00:00:00Z",
                      "affected": [{"package": {"ecosystem": "PyPI", "name": f"absent-{number}"},
                                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}]}]}
            dump.writestr(f"{record['id']}.json", json.dumps(record))
            written += 1
    return written


def start_scanner(data_dir: Path) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDEMARK_")}
    process = subprocess.Popen([sys.executable, "-m", "infra.wiring.cli", "scanner", "serve", "--port", "0",
                                "--data-dir", str(data_dir)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if select.select([process.stdout], [], [], 0.5)[0]:
            line = process.stdout.readline().decode()
            if "listening on " in line:
                return process, line.split("listening on ", 1)[1].split(" ", 1)[0]
        if process.poll() is not None:
            break
    process.kill()
    raise RuntimeError("the scanner did not start")


def timed_scan(client: httpx.Client, body: dict) -> tuple[float, dict]:
    started = time.perf_counter()
    scan_id = client.post("/api/v1/scan", json=body).json()["id"]
    while True:
        answer = client.get(f"/api/v1/scan/{scan_id}/report",
                            headers={"Accept": "application/vnd.security.vulnerability.report; version=1.1"})
        if answer.status_code != 302:
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"scan failed: {answer.text}")
    return elapsed, answer.json()


def in_process(layers: list[bytes], data_dir: Path, workdir: Path) -> tuple[float, float, int, int]:
    """Inventory and match of the same layers in this process: (seconds, seconds, packages, hits)."""
    from domain.scanning.matching import match
    from infra.scanner.layers import Budget, Limits
    from infra.scanner.puller import Image
    from infra.scanner.scan_run import builtin_inventory
    from infra.scanner.vulndb import VulnDb

    files = []
    for number, layer in enumerate(layers):
        path = workdir / f"layer{number}"
        path.write_bytes(layer)
        files.append((f"sha256:{number:064x}", path))
    limits = Limits(uncompressed_bytes=1 << 34, member_bytes=1 << 26, members=2_000_000, wanted_bytes=1 << 29)
    started = time.perf_counter()
    _, packages = builtin_inventory(Image(digest="", media_type="", layers=files, platform=""), Budget(limits))
    inventory_seconds = time.perf_counter() - started
    database = VulnDb(data_dir / "scanner" / "vulndb.sqlite")
    started = time.perf_counter()
    hits = match(packages, database.lookup)
    return inventory_seconds, time.perf_counter() - started, len(packages), len(hits)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--records", type=int, default=5000, help="OSV records in the generated database")
    parser.add_argument("--repeat", type=int, default=3, help="scans to time (the median is reported)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-scanner-"))
    registry = make_target("tidemark", None, "docker-registry", keep=False)
    scanner = None
    try:
        registry.start()
        user, password = registry.credentials
        admin = {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
        httpx.post(f"{registry.base}/api/v2.0/projects", headers=admin, timeout=30,
                   json={"project_name": "bench", "metadata": {"public": "false"}}).raise_for_status()
        layers, listed = image_layers(args.packages)
        digest = push_image(registry.base, REPOSITORY, "v1", layers, admin)
        records = osv_dump(workdir / "bench.zip", listed, args.records)
        started = time.perf_counter()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIDEMARK_")}
        done = subprocess.run([sys.executable, "-m", "infra.wiring.cli", "vulndb", "import", str(workdir / "bench.zip"),
                        "--data-dir", str(workdir)], cwd=ROOT, env=env, check=False, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        import_seconds = time.perf_counter() - started
        scanner, url = start_scanner(workdir)
        token = httpx.get(f"{registry.base}/service/token", headers=admin, timeout=30,
                          params={"service": "tidemark", "scope": f"repository:{REPOSITORY}:pull"}).json()["token"]
        body = {"registry": {"url": registry.base, "authorization": f"Bearer {token}"},
                "artifact": {"repository": REPOSITORY, "digest": digest,
                             "mime_type": "application/vnd.oci.image.manifest.v1+json"}}
        with httpx.Client(base_url=url, timeout=60) as client:
            runs = [timed_scan(client, body) for _ in range(args.repeat)]
        seconds = sorted(r[0] for r in runs)[len(runs) // 2]
        found = len(runs[0][1]["vulnerabilities"])
        inventory_s, match_s, packages, hits = in_process(layers, workdir, workdir)
        print(f"vulndb import of {records} records: {import_seconds:.2f} s")
        print(f"scan through the adapter API (pull + inventory + match + report), {args.packages} packages, "
              f"{found} vulnerabilities: median {seconds:.2f} s of {args.repeat} "
              f"(target {TARGET_SECONDS:.0f} s): {'OK' if seconds <= TARGET_SECONDS else 'SLOW'}")
        print(f"in process: inventory {inventory_s:.2f} s ({packages} packages), match {match_s:.2f} s "
              f"({hits} vulnerabilities), together {inventory_s + match_s:.2f} s")
        return 0 if seconds <= TARGET_SECONDS else 1
    finally:
        if scanner is not None:
            scanner.terminate()
            scanner.wait(timeout=20)
        registry.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
