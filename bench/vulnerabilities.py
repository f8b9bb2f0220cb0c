"""Vulnerability views at scale: the pull gate's cost on manifest GET, and Security Hub's
summary over 10,000 scanned artifacts.

Standalone: builds a registry in a scratch directory (SQLite, or PostgreSQL with --postgres
for a scratch server, or --database-url), writes the artifacts and their completed scans
straight through the application (no HTTP, no scanner), then over HTTP (Litestar's test
client, in process):
- manifest GET of a scanned image with `prevent_vul` on (severity critical, the report below
  it: every pull is decided, and let through) against the same GETs with it off: the
  throughput ratio (target >= 0.9);
- GET /api/v2.0/security/summary?with_dangerous_cve=true&with_dangerous_artifact=true over
  the 10,000 artifacts: the median time (target <= 200 ms).

    .venv/bin/python bench/vulnerabilities.py
    .venv/bin/python bench/vulnerabilities.py --postgres
    .venv/bin/python bench/vulnerabilities.py --artifacts 2000 --pulls 500
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REPOSITORY = "library/fleet"
PASSWORD = "Bench-Passw0rd"
PULL = {"accept": "application/vnd.oci.image.manifest.v1+json"}


def digest_of(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def populate(registry, count: int, batch: int = 250) -> float:
    """`count` manifests with a tag and a completed scan each (5 findings); seconds taken."""
    from domain.artifacts.blob_link import BlobLink
    from domain.artifacts.manifest import Manifest
    from domain.artifacts.manifest_format import OCI_MANIFEST, ParsedManifest
    from domain.artifacts.tag import Tag
    from domain.base import Actor
    from domain.scanning.scan import SEVERITIES, Finding, Scan

    actor = Actor(name="bench", request_id="vulnerability-bench")
    config, layer = digest_of("config"), digest_of("layer")
    parsed = ParsedManifest(media_type=OCI_MANIFEST, artifact_type=None, blobs=[config, layer],
                            foreign_blobs=[], manifests=[], subject=None, annotations={}, blob_bytes=2048)
    started = time.perf_counter()
    registry.app.save(BlobLink.create(REPOSITORY, config, 1024, None, actor, generation=1),
                      BlobLink.create(REPOSITORY, layer, 1024, None, actor, generation=1))
    pending = []
    for index in range(count):
        digest = digest_of("manifest", str(index))
        scan = Scan.request("library", REPOSITORY, digest, 1, "vulnerability", 1, "scan_all", "bench",
                            "Trivy", OCI_MANIFEST, actor)
        findings = [Finding(id=f"CVE-2024-{(index * 7 + k) % 5000:04d}", package=f"pkg{k}", version="1.0",
                            severity=SEVERITIES[(index + k) % 5], fix_version="1.1" if k % 2 else "",
                            cvss_score=float((index + k) % 10)) for k in range(5)]
        scan.complete("0.50", "application/vnd.security.vulnerability.report; version=1.1", findings, actor)
        pending += [Manifest.push(REPOSITORY, digest, 512, parsed, actor, generation=1),
                    Tag.create(REPOSITORY, f"b{index}", digest, actor, generation=1), scan]
        if len(pending) >= batch:
            registry.app.save(*pending)
            pending = []
    if pending:
        registry.app.save(*pending)
    return time.perf_counter() - started


def pulls_per_second(client, pulls: int) -> float:
    started = time.perf_counter()
    for _ in range(pulls):
        response = client.get("/v2/library/gated/manifests/v1", headers=PULL)
        assert response.status_code == 200, response.text
    return pulls / (time.perf_counter() - started)


def run(database_url: str | None, artifacts: int, pulls: int, rounds: int) -> dict:
    from litestar.testing import TestClient

    from infra.http.logging import configure_logging
    from infra.settings import Settings
    from infra.wiring.app import create_app
    from infra.wiring.registry import build_registry
    from tests.integration.conftest import basic
    from tests.integration.oci_client import OciClient
    from tests.scan_fixtures import complete_scan, finding

    configure_logging("json", "warning")
    scratch = Path(tempfile.mkdtemp(prefix="tidemark-vuln-bench-"))
    values = {"data_dir": str(scratch / "data"), "admin_password": PASSWORD,
              "external_url": "http://registry.test"}
    if database_url:
        values["database_url"] = database_url
    settings = Settings(**values)
    registry = build_registry(settings)
    figures: dict = {}
    try:
        with TestClient(create_app(settings, registry), base_url="http://registry.test") as client:
            client.headers["authorization"] = basic("admin", PASSWORD)
            # Webhook dispatch follows the log too, slowly for tens of thousands of scan events
            # (about 15 ms an event here); no policy exists, so it is stopped, not measured.
            for projector in registry.projectors:
                if projector.name == "webhook_dispatch":
                    projector.stop()
            figures["populate_s"] = populate(registry, artifacts)
            started = time.perf_counter()
            for projector in registry.projectors:
                if projector.name != "webhook_dispatch":
                    projector.catch_up()
            figures["catch_up_s"] = time.perf_counter() - started
            oci = OciClient(client)
            digest, _ = oci.push_image("library/gated", "v1")
            complete_scan(registry, "library/gated", digest,
                          [finding(f"CVE-2023-{k:04d}", "High") for k in range(20)])
            client.put("/api/v2.0/projects/library", json={"metadata": {"severity": "critical"}})

            def gate(on: bool) -> None:
                response = client.put("/api/v2.0/projects/library",
                                      json={"metadata": {"prevent_vul": "true" if on else "false"}})
                assert response.status_code == 200, response.text

            on, off = [], []
            for _ in range(rounds):  # interleaved, so drift hits both alike
                gate(False)
                pulls_per_second(client, pulls // 10)
                off.append(pulls_per_second(client, pulls))
                gate(True)
                pulls_per_second(client, pulls // 10)
                on.append(pulls_per_second(client, pulls))
            figures["pulls_per_s_gate_off"] = statistics.median(off)
            figures["pulls_per_s_gate_on"] = statistics.median(on)
            figures["gate_ratio"] = figures["pulls_per_s_gate_on"] / figures["pulls_per_s_gate_off"]
            times = []
            for _ in range(15):
                started = time.perf_counter()
                response = client.get("/api/v2.0/security/summary",
                                      params={"with_dangerous_cve": "true", "with_dangerous_artifact": "true"})
                times.append(time.perf_counter() - started)
                assert response.status_code == 200 and response.json()["scanned_cnt"] == artifacts + 1
            figures["summary_ms_median"] = statistics.median(times) * 1000
            figures["summary_ms_max"] = max(times) * 1000
    finally:
        registry.close()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifacts", type=int, default=10_000)
    parser.add_argument("--pulls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (an empty scratch database)")
    parser.add_argument("--postgres", action="store_true", help="start a scratch PostgreSQL server")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = args.database_url
        if args.postgres and not url:
            from tests.integration.servers import scratch_postgres

            url = stack.enter_context(scratch_postgres())
        figures = run(url, args.artifacts, args.pulls, args.rounds)
    backend = "postgresql" if url else "sqlite"
    print(f"vulnerability views benchmark ({backend}, {args.artifacts} scanned artifacts)")
    for key, value in figures.items():
        print(f"  {key:24} {value:10.3f}")
    print(f"  gate on/off ratio {figures['gate_ratio']:.3f} (target >= 0.9); "
          f"summary {figures['summary_ms_median']:.1f} ms (target <= 200)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
