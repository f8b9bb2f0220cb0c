"""Time a chunked upload on the scale-out shape (ADR 0046): one `tidemark serve` on a scratch
PostgreSQL database with blobs in moto's S3; POST, N PATCHes of M MiB, then the PUT that
completes it. Prints the median PATCH and PUT times of a few rounds.

    PYTHONPATH=<tree> python -m bench.shared_upload_put [--patches 3] [--mib 32] [--rounds 3]
        [--forget-hash-state]

PYTHONPATH picks the code measured (a tree before ADR 0046 stages locally). With
`--forget-hash-state` the saved sha256 state is cleared before each PUT, so the PUT hashes
the parts again from S3 (the fallback where OpenSSL's context is not usable).
"""

import argparse
import hashlib
import http.client
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patches", type=int, default=3)
    parser.add_argument("--mib", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--forget-hash-state", action="store_true")
    args = parser.parse_args()
    from tests import processes
    from tests.e2e.conftest import ADMIN_PASSWORD, REPO_ROOT, clean_environment
    from tests.integration.servers import free_port, moto_s3, scratch_postgres

    with TemporaryDirectory() as work, scratch_postgres() as url, moto_s3() as endpoint:
        port = free_port()
        env = clean_environment(TIDEMARK_DATA_DIR=f"{work}/data", TIDEMARK_ADMIN_PASSWORD=ADMIN_PASSWORD,
                                TIDEMARK_DATABASE_URL=url, TIDEMARK_STORAGE_URL="s3://bench/registry",
                                TIDEMARK_S3_ENDPOINT_URL=endpoint, TIDEMARK_BUILTIN_SCANNER="off",
                                PYTHONPATH=os.environ.get("PYTHONPATH", ""))
        with open(Path(work) / "server.log", "wb") as log:
            server = processes.spawn([sys.executable, "-m", "infra.wiring.cli", "serve", "--host", "127.0.0.1",
                                      "--port", str(port)], cwd=os.environ.get("PYTHONPATH", "").split(":")[0] or REPO_ROOT,
                                     env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait(port)
            patch_times, put_times = [], []
            for round_ in range(args.rounds):
                chunks = [hashlib.sha256(f"{round_}:{n}".encode()).digest() * (args.mib * 32768)
                          for n in range(args.patches)]
                digest = "sha256:" + hashlib.sha256(b"".join(chunks)).hexdigest()
                patch, put = _upload(port, ADMIN_PASSWORD, chunks, digest, url if args.forget_hash_state else None)
                patch_times.append(patch)
                put_times.append(put)
            print(f"{args.patches} x {args.mib} MiB: PATCH median {statistics.median(patch_times):.3f} s, "
                  f"PUT median {statistics.median(put_times):.3f} s (PUTs: "
                  f"{', '.join(f'{t:.3f}' for t in put_times)})")
        finally:
            processes.stop(server)


def _wait(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/v2/")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not start")


def _upload(port: int, password: str, chunks: list[bytes], digest: str, forget: str | None):
    import base64

    auth = {"authorization": "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def send(method: str, path: str, body: bytes = b"", headers=None):
        conn.request(method, path, body=body, headers={**auth, **(headers or {})})
        response = conn.getresponse()
        response.read()
        return response

    started = send("POST", "/v2/library/bench/blobs/uploads/")
    location = "/" + started.getheader("location").split("://", 1)[1].split("/", 1)[1]
    offset, patching = 0, 0.0
    for chunk in chunks:
        began = time.perf_counter()
        answer = send("PATCH", location, chunk, {"content-range": f"{offset}-{offset + len(chunk) - 1}"})
        patching += time.perf_counter() - began
        assert answer.status == 202, answer.status
        offset += len(chunk)
    if forget:
        import psycopg

        with psycopg.connect(forget, autocommit=True) as db:
            db.execute("UPDATE upload_sessions SET hash_state = NULL")
    began = time.perf_counter()
    done = send("PUT", f"{location}?digest={digest}")
    took = time.perf_counter() - began
    assert done.status == 201, done.status
    return patching / len(chunks), took


if __name__ == "__main__":
    main()
