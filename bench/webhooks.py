"""Webhook benchmark: 100 policies on one project, 1,000 pushes of small images.

Starts Tidemark twice (`tidemark serve`, embedded SQLite, fresh data dirs) and a
receiver (an asyncio HTTP/1.1 server in its own process, answering 200 at once):

  off: no policies; push N images and time the pushes;
  on:  P policies (PUSH_ARTIFACT, all to the receiver); push the same way, then wait
       until the receiver got every delivery and the API shows every job `success`.

Each round is one run without webhooks and one with them; a single pair varies
by 15 % on a shared 2-core machine, so three rounds are run and the median
ratio is reported (target >= 0.9), with the time from the first push until every
delivery was received and recorded in each round (target <= 60 s).

    .venv/bin/python bench/webhooks.py [--pushes 1000] [--policies 100] [--clients 8] [--rounds 3]
"""

import argparse
import hashlib
import http.client
import json
import os
import secrets
import statistics
import sys
import threading
import time

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.webhook_servers import AUTH, Receiver, Server  # noqa: E402


# -- pushing --------------------------------------------------------------------------------

def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_all(server: Server, pushes: int, clients: int, prefix: str = "bench") -> list[float]:
    """Push `pushes` small images (config + one layer + manifest) from `clients` threads,
    each over one keep-alive connection; return every push's duration."""
    durations: list[float] = []
    lock = threading.Lock()
    counter = iter(range(pushes))

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        headers = {"Authorization": AUTH}

        def send(method: str, path: str, body: bytes, extra: dict | None = None) -> None:
            conn.request(method, path, body=body, headers={**headers, **(extra or {})})
            response = conn.getresponse()
            response.read()
            if response.status != 201:
                raise RuntimeError(f"{method} {path}: {response.status}")

        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                break
            repo = f"library/{prefix}{index % 50}"
            config = json.dumps({"architecture": "amd64", "os": "linux", "n": index,
                                 "seed": secrets.token_hex(8)}).encode()
            layer = secrets.token_bytes(256)
            manifest = json.dumps({
                "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": digest(config), "size": len(config)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": digest(layer), "size": len(layer)}]}).encode()
            started = time.perf_counter()
            send("POST", f"/v2/{repo}/blobs/uploads/?digest={digest(config)}", config)
            send("POST", f"/v2/{repo}/blobs/uploads/?digest={digest(layer)}", layer)
            send("PUT", f"/v2/{repo}/manifests/v{index}", manifest,
                 {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
            with lock:
                durations.append(time.perf_counter() - started)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return durations


WARM_UP = 40


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(pushes: int, policies: int, clients: int, receiver: Receiver | None,
        timeout: float) -> dict:
    server = Server()
    try:
        # Both runs start warm: the first pushes after a start pay one-time costs. Policies are
        # made afterwards, so the warm-up pushes are not delivered (a policy sees newer events).
        push_all(server, WARM_UP, clients, prefix="warmup")
        ids = []
        for index in range(policies if receiver else 0):
            body = json.dumps({"name": f"hook-{index}", "event_types": ["PUSH_ARTIFACT"], "targets": [
                {"type": "http", "address": f"http://127.0.0.1:{receiver.port}/hook/{index}"}]}).encode()
            status, text, headers = server.request("POST", "/api/v2.0/projects/library/webhook/policies",
                                                   body, {"Content-Type": "application/json"})
            assert status == 201, text
            ids.append(int({k.lower(): v for k, v in headers.items()}["location"].rsplit("/", 1)[1]))
        cpu_before = server.cpu_seconds()
        started = time.time()
        durations = push_all(server, pushes, clients)
        pushed = time.time() - started
        result = {"pushes": pushes, "push_seconds": pushed, "pushes_per_second": pushes / pushed,
                  "push_p50_ms": 1000 * percentile(durations, 0.5),
                  "push_p95_ms": 1000 * percentile(durations, 0.95)}
        if receiver is None:
            result["server_cpu_seconds"] = server.cpu_seconds() - cpu_before
            return result
        expected = pushes * policies
        deadline = started + timeout
        while receiver.count.value < expected and time.time() < deadline:
            time.sleep(0.2)
        result["deliveries_received"] = receiver.count.value
        result["all_received_seconds"] = receiver.last.value - started
        recorded = 0
        while time.time() < deadline:
            recorded = sum(_succeeded(server, policy_id) for policy_id in ids)
            if recorded >= expected:
                break
            time.sleep(1.0)
        result["deliveries_recorded_success"] = recorded
        result["all_recorded_seconds"] = time.time() - started if recorded >= expected else None
        result["server_cpu_seconds"] = server.cpu_seconds() - cpu_before
        return result
    finally:
        server.stop()


def _succeeded(server: Server, policy_id: int) -> int:
    status, _, headers = server.request(
        "GET", f"/api/v2.0/projects/library/webhook/jobs?policy_id={policy_id}&status=success&page_size=1")
    return int({k.lower(): v for k, v in headers.items()}.get("x-total-count", 0)) if status == 200 else 0


def one_round(args) -> tuple[dict, dict]:
    """One run without webhooks and one with them, with a fresh receiver."""
    receiver = Receiver()
    try:
        off = run(args.pushes, 0, args.clients, None, args.timeout)
        on = run(args.pushes, args.policies, args.clients, receiver, args.timeout)
    finally:
        receiver.stop()
    return off, on


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pushes", type=int, default=1000)
    parser.add_argument("--policies", type=int, default=100)
    parser.add_argument("--clients", type=int, default=8, help="concurrent pushing connections")
    parser.add_argument("--rounds", type=int, default=3,
                        help="off/on pairs; the ratio reported is their median (one pair is noisy)")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up waiting after (s)")
    parser.add_argument("--output", help="also write the figures as JSON here")
    args = parser.parse_args()
    expected = args.pushes * args.policies
    print(f"pushes: {args.pushes} ({args.clients} clients); policies: {args.policies}; "
          f"deliveries expected: {expected}; rounds: {args.rounds}")
    rounds = []
    for number in range(1, args.rounds + 1):
        off, on = one_round(args)
        ratio = on["pushes_per_second"] / off["pushes_per_second"]
        rounds.append({"off": off, "on": on, "ratio": ratio})
        print(f"\nround {number}")
        print(f"{'':28}{'webhooks off':>14}{'webhooks on':>14}")
        for key, label in (("pushes_per_second", "push throughput (/s)"),
                           ("push_p50_ms", "push p50 (ms)"), ("push_p95_ms", "push p95 (ms)"),
                           ("server_cpu_seconds", "server CPU (s)")):
            print(f"{label:28}{off[key]:>14.1f}{on[key]:>14.1f}")
        print(f"push throughput on/off: {ratio:.2f}x")
        print(f"deliveries received: {on['deliveries_received']} in "
              f"{on['all_received_seconds']:.1f} s after the first push")
        recorded = on["all_recorded_seconds"]
        print(f"deliveries recorded as success: {on['deliveries_recorded_success']}"
              + (f", all within {recorded:.1f} s" if recorded else " (not all)"))
    ratios = sorted(r["ratio"] for r in rounds)
    times = [r["on"]["all_recorded_seconds"] for r in rounds]
    print(f"\npush throughput on/off, median of {len(ratios)}: {statistics.median(ratios):.2f}x "
          f"(each: {', '.join(f'{r:.2f}' for r in ratios)}; target >= 0.9x)")
    if all(t is not None for t in times):
        print(f"every delivery recorded within: worst {max(times):.1f} s "
              f"(each: {', '.join(f'{t:.1f}' for t in times)}; target <= 60 s)")
    else:
        print("every delivery recorded: NOT in some round (see above)")
    if args.output:
        with open(args.output, "w") as handle:
            json.dump({"rounds": rounds, "median_ratio": statistics.median(ratios)}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
