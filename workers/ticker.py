"""A background thread that calls `tick()` every `interval` seconds until stopped (the
retention and GC schedulers, the pull recorder, the upload sweeper); a failed tick is
logged and the next one comes as usual."""

import threading

import structlog

log = structlog.get_logger("scheduler")


class Ticker:
    name = "ticker"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self):
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:
                log.exception("scheduled work failed; will try again", scheduler=self.name)

    def request_stop(self) -> None:
        """Ask for no further tick (returns at once; a tick under way finishes)."""
        self._stop.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop ticking and wait for a tick under way to finish."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("scheduled work did not stop", scheduler=self.name)
