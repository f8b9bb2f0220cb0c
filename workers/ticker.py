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

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
