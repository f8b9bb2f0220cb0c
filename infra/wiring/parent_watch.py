"""A server worker process must not outlive the server that started it.

Granian runs the application in a worker process. If the main process is
killed with SIGKILL (the OOM killer, `kill -9`, a crashed supervisor), the
worker is orphaned but keeps its listening socket (SO_REUSEPORT): a restarted
server then shares the port with a stale worker whose caches and upload
sessions belong to the dead instance. The worker therefore watches its parent
and exits as soon as the parent is gone.
"""

import os
import threading

import structlog

log = structlog.get_logger("server")

SERVER_PID = "TIDEMARK_SERVER_PID"  # set by `tidemark serve` for its worker processes


def exit_with_server(interval: float = 0.5) -> bool:
    """In a worker of `tidemark serve`, start watching the parent; True if armed."""
    server = os.environ.get(SERVER_PID)
    if not server or not server.isdigit() or os.getppid() != int(server):
        return False  # not a worker of ours (uvicorn, tests, the main process itself)
    parent = int(server)

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                log.error("the server process is gone; this worker exits", server_pid=parent)
                os._exit(70)
            threading.Event().wait(interval)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    return True
