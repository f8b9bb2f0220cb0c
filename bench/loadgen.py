"""Client-side load loops: threaded raw-socket blob reader, thread-pool runner."""
from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

RECV = 4 << 20


def _read_headers(sock: socket.socket, buf: bytearray) -> tuple[int, int, bytes]:
    """Read until CRLFCRLF. Returns (status, content_length, leftover body bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed while reading headers")
        data += chunk
        if len(data) > 1 << 20:
            raise ConnectionError("headers too large")
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = -1
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    return status, length, rest


def pull_streams(host: str, port: int, path: str, streams: int, duration: float,
                 headers: dict | None = None) -> dict:
    """`streams` threads each GET `path` back to back on a keep-alive socket for
    `duration` seconds, discarding the body with recv_into (GIL released).
    A response still in flight at the deadline is cut off and its bytes counted."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    req = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}\r\n").encode()
    totals = [0] * streams
    complete = [0] * streams
    errors: list[str] = []
    t0 = time.monotonic()
    deadline = t0 + duration

    def worker(i: int) -> None:
        buf = bytearray(RECV)
        mv = memoryview(buf)
        sock = socket.create_connection((host, port), timeout=60)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        try:
            while time.monotonic() < deadline:
                sock.sendall(req)
                status, length, rest = _read_headers(sock, buf)
                if status != 200 or length < 0:
                    errors.append(f"HTTP {status} length {length}")
                    return
                got = len(rest)
                totals[i] += got
                while got < length:
                    n = sock.recv_into(mv[:min(RECV, length - got)])
                    if not n:
                        raise ConnectionError("closed mid-body")
                    got += n
                    totals[i] += n
                    if time.monotonic() >= deadline:
                        return
                complete[i] += 1
        except OSError as e:
            errors.append(repr(e))
        finally:
            sock.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 120)
    elapsed = time.monotonic() - t0
    total = sum(totals)
    return {"bytes": total, "elapsed_s": round(elapsed, 3),
            "mb_per_s": round(total / elapsed / 1e6, 1), "complete_responses": sum(complete),
            "errors": len(errors), "first_error": errors[0] if errors else None}


def run_parallel(fn, items: list, threads: int, time_limit: float) -> dict:
    """Run fn(worker_state, item) over items with `threads` workers. worker_state is
    a per-thread dict (for a keep-alive connection). Stops taking new items after
    time_limit seconds. Returns counts, elapsed and per-call latencies."""
    local = threading.local()
    lat: list[float] = []
    results: list = []
    errors: list[str] = []
    deadline = time.monotonic() + time_limit
    states: list[dict] = []
    lock = threading.Lock()

    def call(item):
        if time.monotonic() > deadline:
            return
        if not hasattr(local, "state"):
            local.state = {}
            with lock:
                states.append(local.state)
        t = time.monotonic()
        try:
            r = fn(local.state, item)
        except Exception as e:  # noqa: BLE001 - counted and reported
            with lock:
                errors.append(repr(e))
            return
        with lock:
            lat.append(time.monotonic() - t)
            results.append(r)

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads) as ex:
        list(ex.map(call, items))
    elapsed = time.monotonic() - t0
    for s in states:
        conn = s.get("conn")
        if conn is not None:
            conn.close()
    lat.sort()
    return {"done": len(results), "errors": len(errors), "elapsed_s": round(elapsed, 3),
            "first_error": errors[0] if errors else None, "results": results,
            "p50_ms": round(1000 * lat[len(lat) // 2], 2) if lat else None,
            "p99_ms": round(1000 * lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2)
            if lat else None,
            "timed_out": time.monotonic() > deadline}
