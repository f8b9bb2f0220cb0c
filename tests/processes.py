"""Processes the tests start (servers, brokers), made unable to outlive the test run.

A Tidemark server starts children of its own (granian's worker, the webhook
process), and a test run that crashes never reaches its teardown: a segfault
once left an end-to-end server running with no parent. So every process
starts
- in a session of its own (its own process group): teardown and interpreter
  exit stop the leader, then kill whatever is left of its group;
- under `setpriv --pdeathsig TERM` (util-linux) where it exists: the kernel
  sends the leader SIGTERM when the test process dies, however it dies. The
  signal follows the thread that spawned it, so spawn from the main thread
  (pytest runs fixtures and tests there).
"""

import atexit
import os
import shutil
import signal
import subprocess

_SETPRIV = shutil.which("setpriv")
_live: dict[int, subprocess.Popen] = {}


def spawn(command: list[str], **popen_kwargs) -> subprocess.Popen:
    """Popen in a new session, dying with the test process, stopped at exit at the latest."""
    prefix = [_SETPRIV, "--pdeathsig", "TERM", "--"] if _SETPRIV else []
    if "serve" in command and "scanner" not in command:  # no built-in scanner unless a test asks
        env = popen_kwargs.get("env")
        env = dict(os.environ if env is None else env)
        env.setdefault("TIDEMARK_BUILTIN_SCANNER", "off")
        popen_kwargs["env"] = env
    process = subprocess.Popen([*prefix, *command], start_new_session=True, **popen_kwargs)
    _live[process.pid] = process
    return process


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM the leader (it stops its own children in order), SIGKILL it if it lingers,
    then SIGKILL every process left in its group."""
    _signal_group(process.pid, signal.SIGCONT)  # a paused (SIGSTOPped) process cannot act
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)
    _signal_group(process.pid, signal.SIGKILL)
    _live.pop(process.pid, None)


def live() -> list[subprocess.Popen]:
    """Processes spawned here and not stopped yet."""
    return list(_live.values())


@atexit.register
def _stop_all() -> None:
    for process in live():
        try:
            stop(process, timeout=5.0)
        except Exception:  # at exit: keep going, stop the others
            pass
