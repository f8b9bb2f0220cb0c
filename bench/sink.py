"""Null HTTP server used to measure the ceiling of the benchmark clients.

GET  /blob  -> 200 with --size bytes from a preallocated buffer (one sendall)
POST/PUT/PATCH anything -> reads and discards Content-Length bytes, 201
Run: python -m bench.sink --port N --size BYTES   (prints READY when listening)
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
import threading

BUF = bytearray(8 << 20)


def _handle(conn: socket.socket, payload: memoryview) -> None:
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = conn.makefile("rb", buffering=65536)
    sink = memoryview(BUF)
    try:
        while True:
            line = f.readline(65537)
            if not line:
                return
            method = line.split(b" ", 1)[0]
            length = 0
            while True:
                h = f.readline(65537)
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v.strip())
            while length:
                n = f.readinto(sink[:min(length, len(sink))])
                if not n:
                    return
                length -= n
            if method in (b"GET", b"HEAD"):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(payload))
                if method == b"GET":
                    conn.sendall(payload)
            else:
                conn.sendall(b"HTTP/1.1 201 Created\r\nLocation: /v2/x/blobs/y\r\n"
                             b"Content-Length: 0\r\n\r\n")
    except OSError:
        pass
    finally:
        f.close()
        conn.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--size", type=int, default=100 << 20)
    a = ap.parse_args()
    payload = memoryview(os.urandom(a.size))
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", a.port))
    srv.listen(128)
    print("READY", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=_handle, args=(conn, payload), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
