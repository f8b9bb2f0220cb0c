"""PyPI's `harborapi` on what issue 13 adds: audit log rotation, blob store volumes, build history.

Same server and pushed image (hc/app:v1) as test_harbor_client.py.
"""

from __future__ import annotations

import asyncio

import pytest
from harborapi import models as m  # the test extra installs it

from .harbor_client_world import PROJECT, REPOSITORY, World, call, harbor_client, run, world  # noqa: F401

pytestmark = pytest.mark.e2e


def test_audit_log_rotation(world: World) -> None:
    async def scenario() -> None:
        client = harbor_client(world)
        location = await call("create_purge_job_schedule (Manual: run now)",
                              client.create_purge_job_schedule(m.Schedule(
                                  schedule=m.ScheduleObj(type="Manual"),
                                  parameters={"audit_retention_hour": 24 * 365, "dry_run": True,
                                              "include_event_types": "create_artifact"})))
        purge_id = int(location.rstrip("/").rsplit("/", 1)[-1])
        for _ in range(100):
            job = await call("get_purge_job", client.get_purge_job(purge_id))
            if job.job_status in ("Success", "Error", "Stopped"):
                break
            await asyncio.sleep(0.1)
        assert (job.id, job.job_status) == (purge_id, "Success")
        history = await call("get_purge_job_history",
                             client.get_purge_job_history())
        assert purge_id in [h.id for h in history]
        log = await call("get_purge_job_log", client.get_purge_job_log(purge_id))
        assert log.strip()
        # a dry run of a year's retention trims nothing: the push is still in the audit log
        logs = await call("get_audit_logs", client.get_audit_logs(page_size=100))
        assert f"{PROJECT}/{REPOSITORY}:v1" in [x.resource for x in logs]
    run(scenario)


def test_system_volumes(world: World) -> None:
    async def scenario() -> None:
        volumes = await call("get_system_volume_info", harbor_client(world).get_system_volume_info())
        assert volumes.storage and 0 < volumes.storage[0].free <= volumes.storage[0].total
    run(scenario)


def test_build_history(world: World) -> None:
    async def scenario() -> None:
        history = await call("get_artifact_build_history", harbor_client(world).get_artifact_build_history(
            PROJECT, REPOSITORY, world.digest))
        assert [h.created_by for h in history] == [f"tidemark e2e layer {i}" for i in range(3)]
    run(scenario)
