"""The webhook sender yields to the API: the activity file the server marks on every answer is
read by another process, and the CPU share holds the sender back only while the API is busy."""

import asyncio
import subprocess
import sys
import threading
import time

from infra.http.activity import ActivityFile
from workers.webhooks import pacing as webhook_pacing
from workers.webhooks.pacing import CpuShare


def test_a_request_marked_by_one_process_is_seen_by_another(tmp_path):
    reader = ActivityFile(tmp_path / "api-activity")
    assert reader.last() == 0.0
    before = time.monotonic()
    code = ("import sys; from pathlib import Path; from infra.http.activity import ActivityFile; "
            "ActivityFile(Path(sys.argv[1])).mark()")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "api-activity")], check=True)
    assert before <= reader.last() <= time.monotonic()  # one clock for every process


def test_the_sender_pays_back_its_debt_while_the_api_is_busy(tmp_path, monkeypatch):
    activity = ActivityFile(tmp_path / "api-activity")
    share = CpuShare(0.5, activity)
    share.spent(0.3)  # helper threads used 0.3 s of CPU: 0.28 s beyond the burst allowance
    activity.mark()  # the server (another process) just answered a request
    assert share.busy()
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        share._at -= seconds  # time passes for the bucket, not for the test

    monkeypatch.setattr(webhook_pacing.asyncio, "sleep", sleep)
    asyncio.run(share.wait_turn())
    assert sleeps and sum(sleeps) >= 0.5  # 0.28 s of debt at half a core: over half a second


def test_a_quiet_api_does_not_hold_the_sender_back_nor_save_up_debt(tmp_path, monkeypatch):
    activity = ActivityFile(tmp_path / "api-activity")
    share = CpuShare(0.1, activity)
    share.spent(30.0)  # sending flat out for a long quiet spell

    async def no_sleep(seconds: float) -> None:
        raise AssertionError("the sender waited although nobody used the API")

    monkeypatch.setattr(webhook_pacing.asyncio, "sleep", no_sleep)
    asyncio.run(share.wait_turn())
    activity.mark()  # now a request arrives: the quiet spell's CPU is not held against it
    asyncio.run(share.wait_turn())


def test_the_dispatcher_of_the_webhook_process_waits_for_its_turn_until_stopped(tmp_path):
    share = CpuShare(0.1, ActivityFile(tmp_path / "api-activity"), whole_process=True)
    share._debt = 100.0  # far beyond its share...
    share.last_request = time.monotonic() + 3600  # ...while the API stays busy
    stop = threading.Event()
    waiting = threading.Thread(target=share.hold, args=(stop,))
    waiting.start()
    waiting.join(0.3)
    assert waiting.is_alive()  # held back
    stop.set()
    waiting.join(5)
    assert not waiting.is_alive()  # a stopping worker is not kept waiting
    inline = CpuShare(0.1)  # sharing the server's interpreter, the dispatcher is not paced
    inline._debt, inline.last_request = 100.0, time.monotonic() + 3600
    passing = threading.Thread(target=inline.hold, args=(threading.Event(),), daemon=True)
    passing.start()
    passing.join(5)
    assert not passing.is_alive()
