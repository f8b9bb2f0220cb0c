"""The webhook benchmark's processes: the receiver (answers 200 at once, counts the
deliveries) and a Tidemark server on a fresh data dir, with the admin credentials."""

import asyncio
import base64
import http.client
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "Bench-Passw0rd-" + secrets.token_hex(4)
AUTH = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the receiver ---------------------------------------------------------------------------

def _receive(port: int, count, last, ready) -> None:
    seen: set[bytes] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length, job = 0, b""
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"x-tidemark-job-id":
                        job = value.strip()
                if length:
                    await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                if job not in seen:
                    seen.add(job)
                    count.value = len(seen)
                    last.value = time.time()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.count = multiprocessing.Value("q", 0)
        self.last = multiprocessing.Value("d", 0.0)
        ready = multiprocessing.Event()
        self.process = multiprocessing.Process(target=_receive, daemon=True,
                                               args=(self.port, self.count, self.last, ready))
        self.process.start()
        ready.wait(10)

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(5)


# -- the registry ---------------------------------------------------------------------------

class Server:
    def __init__(self) -> None:
        self.port = free_port()
        self.data = tempfile.mkdtemp(prefix="tidemark-bench-webhooks-")
        env = {**os.environ, "TIDEMARK_ADMIN_PASSWORD": PASSWORD, "TIDEMARK_LOG_LEVEL": "warning",
               "TIDEMARK_LOG_FORMAT": "json"}
        self.log = open(os.path.join(self.data, "server.log"), "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "infra.wiring.cli", "serve", "--host", "127.0.0.1", "--port",
             str(self.port), "--data-dir", os.path.join(self.data, "data")],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if self.request("GET", "/api/v2.0/ping")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"server did not start; see {self.data}/server.log")

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None) -> tuple[int, bytes, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers={"Authorization": AUTH, **(headers or {})})
            response = conn.getresponse()
            return response.status, response.read(), dict(response.getheaders())
        finally:
            conn.close()

    def cpu_seconds(self) -> float:
        total = 0.0
        for pid in [self.process.pid, *_children(self.process.pid)]:
            try:
                with open(f"/proc/{pid}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except OSError:
                pass
        return total

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        shutil.rmtree(self.data, ignore_errors=True)


def _children(pid: int) -> list[int]:
    """Child processes started by any thread of `pid` (the webhook process is started by one)."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(p) for p in handle.read().split()]
        except OSError:
            continue
    return found
