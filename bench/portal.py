"""The portal's repository page with many artifacts, in a real browser: how long until the first
page of artifacts is on screen, how many API calls the page makes (no N+1: the count must not
grow with the artifacts), and how many bytes the first load of the portal transfers.

Standalone: starts a throw-away Tidemark, pushes --artifacts manifests (each tagged) into one
repository, then opens the repository page in Debian's chromium under Playwright --rounds
times (a fresh browser context each time, so nothing is cached) and reports the median.
There is no peer to compare with (Harbor's portal cannot run here): the issue's targets are
absolute, 1 s to render and 500 KB for the first load.

    .venv/bin/python bench/portal.py                      # 1,000 artifacts, 5 rounds
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.replication import digest_of  # noqa: E402
from bench.servers import make_target  # noqa: E402
from infra.replication.distribution import RegistryClient  # noqa: E402

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CHROMIUM = "/usr/bin/chromium"


def push_many(client: RegistryClient, repository: str, count: int) -> None:
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    layer = os.urandom(1024)
    for data in (config, layer):
        client.push_blob(repository, digest_of(data), len(data), lambda offset, d=data: [d[offset:]])
    for n in range(count):
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest_of(config),
                       "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest_of(layer),
                        "size": len(layer)}],
            "annotations": {"n": str(n)}}).encode()
        client.put_manifest(repository, f"t{n}", manifest, OCI_MANIFEST)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    tidemark = make_target("tidemark", None, "docker-registry", keep=False)
    try:
        tidemark.start()
        user, password = tidemark.credentials
        with httpx.Client(base_url=tidemark.base, auth=(user, password), timeout=60) as rest:
            rest.post("/api/v2.0/projects", json={"project_name": "big"}).raise_for_status()
        started = time.perf_counter()
        with RegistryClient(tidemark.base, username=user, password=password) as client:
            push_many(client, "big/app", args.artifacts)
        print(f"pushed {args.artifacts} artifacts in {time.perf_counter() - started:.1f} s")
        renders, calls, loads = [], [], []
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            for _ in range(args.rounds):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                page.goto(f"{tidemark.base}/")
                page.get_by_label("Username").fill(user)
                page.get_by_label("Password").fill(password)
                page.get_by_role("button", name="Sign in").click()
                page.get_by_role("heading", name="Projects").wait_for()
                first_load = page.evaluate(
                    "() => performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))"
                    ".reduce((sum, e) => sum + (e.transferSize || 0), 0)")
                api_calls: list[str] = []
                page.on("request", lambda r: api_calls.append(r.url) if "/api/v2.0/" in r.url else None)
                begin = time.perf_counter()
                page.goto(f"{tidemark.base}/#/projects/big/repositories/big%2Fapp")
                page.locator("table.artifacts tbody tr").nth(24).wait_for()
                renders.append(time.perf_counter() - begin)
                page.wait_for_load_state("networkidle")
                calls.append(sorted(url.split("/api/v2.0", 1)[1].split("?", 1)[0] for url in api_calls))
                loads.append(first_load)
                context.close()
            browser.close()
        print(f"repository page with {args.artifacts} artifacts, first page of 25 on screen: "
              f"median {statistics.median(renders) * 1000:.0f} ms (max {max(renders) * 1000:.0f} ms; target <= 1000 ms)")
        print(f"API calls the page made: {len(calls[-1])}, none per row: {', '.join(calls[-1])}")
        print(f"first load of the portal (page, modules, styles, vendor files, sign-in): "
              f"{statistics.median(loads) / 1024:.1f} KB transferred (target <= 500 KB)")
        return 0
    finally:
        tidemark.stop()


if __name__ == "__main__":
    sys.exit(main())
