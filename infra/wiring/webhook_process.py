"""The webhook process `tidemark serve` runs beside the server (`webhook_delivery: child`).

Dispatching and sending webhooks costs CPU per delivery; in the server's own
interpreter it would take turns with the requests. In a process of its own it
uses the other core, at a lower scheduling priority (`webhook_nice`), and it
writes only to its own database (`webhooks.sqlite` on SQLite) and the delivery
log. The server restarts it if it dies; it exits if the server dies.
"""

import os
import subprocess
import sys
import threading

import structlog

from infra.wiring.parent_watch import SERVER_PID

log = structlog.get_logger("server")


class WebhookProcess:
    def __init__(self, config_file: str | None) -> None:
        self.command = [sys.executable, "-m", "infra.wiring.cli"]
        if config_file:
            self.command += ["--config", config_file]
        self.command += ["serve", "--role", "webhooks"]
        self._process: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="webhook-process", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _spawn(self) -> subprocess.Popen:
        env = {**os.environ, SERVER_PID: str(os.getpid()), "TIDEMARK_ROLE": "webhooks"}
        return subprocess.Popen(self.command, env=env)

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            self._process = self._spawn()
            code = self._process.wait()
            if self._stopping.is_set():
                return
            log.error("the webhook process exited; starting it again", exit_code=code)
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
