"""A proxy-cache project against direct pulls, in one run, printed as ratios: a miss (first
pull through the cache) against a pull straight from the upstream docker-registry, and a hit
(the same pull again, cached) against a pull of the same images from an ordinary Tidemark
project.

Standalone: starts a throw-away Tidemark and a docker-registry upstream, pushes --images
images of --layers random layers of --layer-mib MiB into the upstream and the same images
into the Tidemark project `local`, creates the proxy-cache project `hub` on the upstream, then
times pulls (manifest by tag, every blob read to the end) of every image, --rounds times
each way (the median is reported; each miss round uses images not pulled before).

    .venv/bin/python bench/proxy_cache.py                   # 3 rounds of 8 x 2 x 4 MiB
    .venv/bin/python bench/proxy_cache.py --clients 4       # 4 clients pulling each new image at once
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.replication import push_image  # noqa: E402
from bench.servers import make_target  # noqa: E402
from infra.replication.distribution import RegistryClient  # noqa: E402
from tests.distribution_server import distribution  # noqa: E402

API = "/api/v2.0"


def pull(client: RegistryClient, repository: str, tag: str) -> int:
    body, _, _ = client.get_manifest(repository, tag)
    manifest = json.loads(body)
    read = 0
    for descriptor in [manifest["config"], *manifest["layers"]]:
        stream = client.open_blob(repository, descriptor["digest"])
        try:
            for piece in stream:
                read += len(piece)
        finally:
            stream.close()
    return read


def timed(client: RegistryClient, names: list[tuple[str, str]]) -> float:
    started = time.perf_counter()
    for repository, tag in names:
        pull(client, repository, tag)
    return time.perf_counter() - started


def timed_together(make_client, names: list[tuple[str, str]], clients: int) -> float:
    """`clients` clients pulling the same images at once; the time until the last is done."""
    from concurrent.futures import ThreadPoolExecutor

    def one(_):
        with make_client() as client:
            for repository, tag in names:
                pull(client, repository, tag)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(clients)))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--layer-mib", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=1,
                        help="clients pulling each miss round's images at once (1: one after the other)")
    parser.add_argument("--staleness", type=float, default=0.0,
                        help="TIDEMARK_PROXY_CACHE_STALENESS_SECONDS (0: a HEAD upstream at every pull)")
    args = parser.parse_args()
    if shutil.which("docker-registry") is None:
        print("missing docker-registry: apt-get install docker-registry", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="bench-proxy-"))
    tidemark = make_target("tidemark", None, "docker-registry", keep=False,
                           extra_env={"TIDEMARK_PROXY_CACHE_STALENESS_SECONDS": str(args.staleness)})
    layer_bytes = int(args.layer_mib * 1024 * 1024)
    try:
        tidemark.start()
        user, password = tidemark.credentials
        rest = httpx.Client(base_url=tidemark.base, auth=(user, password), timeout=60)
        rest.post(f"{API}/projects", json={"project_name": "local"}).raise_for_status()
        with distribution(workdir / "upstream") as upstream:
            images = [(f"team/app{r}", f"v{n}") for r in range(args.rounds) for n in range(args.images)]
            with RegistryClient(upstream.url) as up, RegistryClient(tidemark.base, username=user,
                                                                    password=password) as here:
                for repository, tag in images:
                    push_image(up, repository, tag, args.layers, layer_bytes)
                    push_image(here, "local/" + repository.split("/", 1)[1], tag, args.layers, layer_bytes)
            response = rest.post(f"{API}/registries", json={"name": "upstream", "url": upstream.url})
            response.raise_for_status()
            registry_id = int(response.headers["location"].rsplit("/", 1)[1])
            rest.post(f"{API}/projects", json={"project_name": "hub", "registry_id": registry_id}).raise_for_status()
            misses, directs, hits, locals_ = [], [], [], []
            with RegistryClient(upstream.url) as up, RegistryClient(tidemark.base, username=user,
                                                                    password=password) as here:
                for r in range(args.rounds):
                    batch = [(f"team/app{r}", f"v{n}") for n in range(args.images)]
                    hub = [("hub/" + repo, tag) for repo, tag in batch]
                    if args.clients > 1:
                        directs.append(timed_together(lambda: RegistryClient(upstream.url), batch, args.clients))
                        misses.append(timed_together(lambda: RegistryClient(
                            tidemark.base, username=user, password=password), hub, args.clients))
                        continue
                    directs.append(timed(up, batch))
                    misses.append(timed(here, hub))
                for r in range(args.rounds):  # wait until every image is cached
                    repo = f"app{r}"
                    deadline = time.monotonic() + 120
                    while len(rest.get(f"{API}/projects/hub/repositories/team%252F{repo}/artifacts",
                                       params={"page_size": 100}).json() or []) < args.images:
                        if time.monotonic() > deadline:
                            raise RuntimeError(f"hub/team/{repo} not cached within 120 s")
                        time.sleep(0.2)
                for r in range(args.rounds):
                    batch = [(f"team/app{r}", f"v{n}") for n in range(args.images)]
                    hits.append(timed(here, [("hub/" + repo, tag) for repo, tag in batch]))
                    locals_.append(timed(here, [("local/" + repo.split("/", 1)[1], tag) for repo, tag in batch]))
        mib = args.images * args.layers * args.layer_mib
        miss, direct = statistics.median(misses), statistics.median(directs)
        hit, local = statistics.median(hits), statistics.median(locals_)
        print(f"set per round: {args.images} images x {args.layers} layers x {args.layer_mib:g} MiB = {mib:,.0f} MiB; "
              f"{args.rounds} rounds, medians; staleness {args.staleness:g} s; {args.clients} client(s) per miss round")
        print(f"miss through hub/: {miss:6.2f} s   straight from the upstream: {direct:6.2f} s   "
              f"miss / upstream {miss / direct:.2f}x (target <= 1.3x)")
        print(f"hit through hub/:  {hit:6.2f} s   from the project local/:     {local:6.2f} s   "
              f"hit speed / direct {local / hit:.2f}x (target >= 0.9x)")
        metrics = httpx.get(f"{tidemark.base}/metrics").text
        print("\n".join(line for line in metrics.splitlines() if line.startswith("tidemark_proxy_")))
        return 0
    finally:
        tidemark.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
