"""Manifest GET with the cosign pull gate on (signature verified under a trusted key) against
the same GET with no gate on, through the ASGI app in process (no network, so the gate's share
of the request is as large as it can look).

Standalone: builds a registry in a scratch directory (SQLite, or PostgreSQL with
--database-url), pushes one image into project `off` (no gate) and one into `on`
(`enable_content_trust_cosign`, one trusted ECDSA key, a cosign signature by it), then
alternates rounds of sequential GETs of each and prints requests per second and the ratio.
The first GET of `on` pays for the verification; later ones find the cached decision (the
cache is keyed on the settings version, the key-set version and the signature digests, so
each GET still makes those lookups).

    .venv/bin/python bench/pull_gate.py                  # 2,000 GETs per side, SQLite
    .venv/bin/python bench/pull_gate.py --requests 5000 --database-url postgresql://...

Target: gate on >= 0.9x the requests per second of gate off.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ADMIN_PASSWORD = "Bench-Passw0rd1"
ACCEPT = "application/vnd.oci.image.manifest.v1+json"


class SyncHttp:
    """What tests.integration.oci_client.OciClient needs, over an async client."""

    def __init__(self, client, loop) -> None:
        self.client, self.loop = client, loop

    def __getattr__(self, method):
        return lambda *args, **kwargs: self.loop.run_until_complete(getattr(self.client, method)(*args, **kwargs))


async def rounds(client, urls: dict[str, str], requests: int, rounds_count: int) -> dict[str, float]:
    """Requests per second of each URL: the GETs alternate between them, so drift (caches,
    garbage collection, the machine's other load) falls on both sides alike; each side's rate
    is the median of its rounds."""
    per_round = max(requests // rounds_count, 1)
    rates: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(rounds_count):
        spent = {name: 0.0 for name in urls}
        for _ in range(per_round):
            for name, url in urls.items():
                started = time.perf_counter()
                response = await client.get(url, headers={"accept": ACCEPT})
                spent[name] += time.perf_counter() - started
                assert response.status_code == 200, response.text
        for name in urls:
            rates[name].append(per_round / spent[name])
    return {name: statistics.median(values) for name, values in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    import httpx

    from infra.http.logging import configure_logging
    from infra.settings import Settings
    from infra.wiring.app import create_app
    from infra.wiring.registry import build_registry
    from tests.integration.oci_client import OciClient
    from tests.integration.signing import cosign_sign, ecdsa_key, public_pem

    scratch = Path(tempfile.mkdtemp(prefix="tidemark-pull-gate-"))
    values = {"data_dir": str(scratch / "data"), "external_url": "http://registry.test",
              "admin_password": ADMIN_PASSWORD, "log_level": "warning"}
    if args.database_url:
        values["database_url"] = args.database_url
    settings = Settings(**values)
    configure_logging("json", "warning")  # a log line per request would dominate both sides
    registry = build_registry(settings)
    try:
        registry.start(follow=False)
        app = create_app(settings, registry)
        loop = asyncio.new_event_loop()
        auth = "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://registry.test",
                                   headers={"authorization": auth})
        http = SyncHttp(client, loop)
        oci = OciClient(http)
        digests = {}
        for project in ("off", "on"):
            assert http.post("/api/v2.0/projects", json={"project_name": project}).status_code == 201
            digests[project], _ = oci.push_image(f"{project}/app", "v1")
        private = ecdsa_key()
        assert http.post("/api/v2.0/projects/on/trusted-keys",
                         json={"name": "bench", "public_key": public_pem(private)}).status_code == 201
        cosign_sign(oci, "on/app", digests["on"], private)
        assert http.put("/api/v2.0/projects/on", json={"metadata": {"enable_content_trust_cosign": "true"}}
                        ).status_code == 200
        urls = {project: f"/v2/{project}/app/manifests/v1" for project in ("off", "on")}
        started = time.perf_counter()
        first = loop.run_until_complete(client.get(urls["on"], headers={"accept": ACCEPT}))
        cold_ms = (time.perf_counter() - started) * 1000
        assert first.status_code == 200, first.text
        loop.run_until_complete(rounds(client, urls, 200, 2))  # warm both
        rates = loop.run_until_complete(rounds(client, urls, args.requests, args.rounds))
        ratio = rates["on"] / rates["off"]
        backend = "postgresql" if args.database_url else "sqlite"
        print(f"manifest GET ({backend}, {args.requests} per side, in-process ASGI)")
        print(f"  gate off: {rates['off']:8.0f} req/s   {1e6 / rates['off']:7.0f} us/req")
        print(f"  gate on : {rates['on']:8.0f} req/s   {1e6 / rates['on']:7.0f} us/req   (cosign, verified, cached)")
        print(f"  first GET with the gate on (verification, cache miss): {cold_ms:.1f} ms")
        print(f"  ratio on/off: {ratio:.2f}x (target >= 0.90x) {'OK' if ratio >= 0.9 else 'BELOW TARGET'}")
        loop.run_until_complete(client.aclose())
        loop.close()
    finally:
        registry.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
