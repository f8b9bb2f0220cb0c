"""Push replication from Tidemark to Debian's docker-registry against `skopeo sync` copying
the same set, in one run, printed as a ratio; and event-based latency from push to the
destination (p50).

Standalone: starts a throw-away Tidemark and two docker-registry processes (one for each
copier, so neither finds the other's blobs), pushes --images images of --layers random
layers of --layer-mib MiB each as tags of one repository, then times
1. `skopeo sync` of that repository into the first docker-registry;
2. a manual replication execution of the same repository into the second one (POST
   /replication/executions, polled until it ends);
and then pushes --events small images one at a time into a project an event-based policy
replicates, timing each push's 201 until the destination answers the tag (HEAD every 10 ms).

    .venv/bin/python bench/replication.py                  # 50 x 3 x 5 MiB, ~3 min
    .venv/bin/python bench/replication.py --images 10 --layer-mib 1 --events 10   # smoke
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.servers import make_target  # noqa: E402
from infra.replication.distribution import RegistryClient  # noqa: E402
from tests.distribution_server import distribution  # noqa: E402

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
API = "/api/v2.0"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_image(client: RegistryClient, repository: str, tag: str, layers: int, layer_bytes: int) -> str:
    config = json.dumps({"architecture": "amd64", "os": "linux", "tag": tag, "n": os.urandom(4).hex()}).encode()
    descriptors = []
    for _ in range(layers):
        data = os.urandom(layer_bytes)
        client.push_blob(repository, digest_of(data), len(data), lambda offset, d=data: [d[offset:]])
        descriptors.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest_of(data),
                            "size": len(data)})
    client.push_blob(repository, digest_of(config), len(config), lambda offset: [config[offset:]])
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": digest_of(config), "size": len(config)},
                           "layers": descriptors}).encode()
    return client.put_manifest(repository, tag, manifest, OCI_MANIFEST)


def created_id(response: httpx.Response) -> int:
    response.raise_for_status()
    return int(response.headers["location"].rsplit("/", 1)[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--layer-mib", type=float, default=5.0)
    parser.add_argument("--events", type=int, default=20, help="pushes timed for the event-based latency")
    args = parser.parse_args()
    if shutil.which("skopeo") is None or shutil.which("docker-registry") is None:
        print("missing skopeo or docker-registry: apt-get install skopeo docker-registry", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="bench-replication-"))
    tidemark = make_target("tidemark", None, "docker-registry", keep=False)
    try:
        tidemark.start()
        user, password = tidemark.credentials
        rest = httpx.Client(base_url=tidemark.base, auth=(user, password), timeout=60)
        for project in ("bench", "live"):
            rest.post(f"{API}/projects", json={"project_name": project}).raise_for_status()
        layer_bytes = int(args.layer_mib * 1024 * 1024)
        started = time.perf_counter()
        with RegistryClient(tidemark.base, username=user, password=password, timeout=120) as source:
            for n in range(args.images):
                push_image(source, "bench/app", f"v{n}", args.layers, layer_bytes)
        push_seconds = time.perf_counter() - started
        total_mib = args.images * args.layers * args.layer_mib
        with distribution(workdir / "skopeo") as for_skopeo, distribution(workdir / "tidemark") as for_tidemark:
            started = time.perf_counter()
            subprocess.run(["skopeo", "sync", "--src", "docker", "--dest", "docker", "--src-tls-verify=false",
                            "--dest-tls-verify=false", "--src-creds", f"{user}:{password}",
                            f"{tidemark.host}:{tidemark.port}/bench/app", f"{for_skopeo.host}/copy"],
                           check=True, capture_output=True)
            skopeo_seconds = time.perf_counter() - started
            registry_id = created_id(rest.post(f"{API}/registries", json={"name": "bench-peer",
                                                                         "url": for_tidemark.url}))
            policy_id = created_id(rest.post(f"{API}/replication/policies", json={
                "name": "bench", "dest_registry": {"id": registry_id},
                "filters": [{"type": "name", "value": "bench/app"}]}))
            started = time.perf_counter()
            execution_id = created_id(rest.post(f"{API}/replication/executions", json={"policy_id": policy_id}))
            while (execution := rest.get(f"{API}/replication/executions/{execution_id}").json())["status"] == "Running":
                time.sleep(0.05)
            tidemark_seconds = time.perf_counter() - started
            if execution["status"] != "Success":
                raise RuntimeError(f"replication ended {execution['status']}: {execution['status_text']}")
            with RegistryClient(for_tidemark.url) as there:
                copied = len(there.tags("bench/app"))
            # event-based latency
            rest.post(f"{API}/replication/policies", json={
                "name": "live", "dest_registry": {"id": registry_id}, "trigger": {"type": "event_based"},
                "filters": [{"type": "name", "value": "live/**"}]}).raise_for_status()
            latencies = []
            with RegistryClient(tidemark.base, username=user, password=password) as source, \
                    RegistryClient(for_tidemark.url) as there:
                for n in range(args.events):
                    digest = push_image(source, "live/app", f"e{n}", 1, 64 * 1024)
                    pushed = time.perf_counter()
                    while there.manifest_digest("live/app", f"e{n}") != digest:
                        if time.perf_counter() - pushed > 60:
                            raise RuntimeError(f"live/app:e{n} not replicated within 60 s")
                        time.sleep(0.01)
                    latencies.append(time.perf_counter() - pushed)
        ratio = skopeo_seconds / tidemark_seconds
        p50 = statistics.median(latencies)
        print(f"set: {args.images} images x {args.layers} layers x {args.layer_mib:g} MiB = {total_mib:,.0f} MiB "
              f"(pushed into Tidemark in {push_seconds:.1f} s)")
        print(f"skopeo sync -> docker-registry:            {skopeo_seconds:7.1f} s ({total_mib / skopeo_seconds:6.1f} MiB/s)")
        print(f"Tidemark push replication -> docker-registry: {tidemark_seconds:7.1f} s "
              f"({total_mib / tidemark_seconds:6.1f} MiB/s), {copied} tags there")
        print(f"ratio (Tidemark speed / skopeo speed): {ratio:.2f}x (target >= 0.8x)")
        print(f"event-based push -> destination, {len(latencies)} pushes: p50 {p50 * 1000:.0f} ms, "
              f"max {max(latencies) * 1000:.0f} ms (target p50 <= 2 s)")
        return 0
    finally:
        tidemark.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
