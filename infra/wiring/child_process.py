"""A child process `tidemark serve` runs beside the server and keeps running: started with
the server's pid in its environment (so it exits if the server dies), started again if it
exits on its own, stopped with the server."""

import os
import subprocess
import threading

import structlog

from infra.wiring.parent_watch import SERVER_PID

log = structlog.get_logger("server")


class SupervisedChild:
    def __init__(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        self.name = name
        self.command = command
        self.env = env or {}
        self._process: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name=f"{name}-process", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _spawn(self) -> subprocess.Popen:
        return subprocess.Popen(self.command, env={**os.environ, SERVER_PID: str(os.getpid()), **self.env})

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            self._process = self._spawn()
            code = self._process.wait()
            if self._stopping.is_set():
                return
            log.error(f"the {self.name} process exited; starting it again", exit_code=code)
            self._stopping.wait(1.0)

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
