"""Scheduled tag retention: a cron tick starts one run, once, whichever process sees it first."""

from datetime import datetime, timedelta, timezone

import pytest

from tests.integration.retention_flows import create_policy, rule, tags
from domain.cron import due_tick
from workers.retention_scheduler import RetentionScheduler


@pytest.fixture
def backend():
    return "sqlite"


def test_a_due_cron_tick_starts_one_scheduled_run(http, oci, registry):
    for name in ("v1", "v2", "v3"):
        oci.push_image("library/app", name)
    url = create_policy(http, rule("latestPushedK", {"latestPushedK": 1}), cron="*/5 * * * *")
    scheduler = RetentionScheduler(registry)
    now = datetime.now(timezone.utc)

    later = now + timedelta(minutes=10)
    started = scheduler.tick(later, background=False)
    registry.catch_up()

    assert len(started) == 1
    execution = http.get(f"{url}/executions").json()[0]
    assert (execution["id"], execution["trigger"], execution["dry_run"], execution["status"]) == \
        (started[0], "SCHEDULE", False, "Success")
    assert tags(http, "library/app") == ["v3"]
    assert scheduler.tick(later, background=False) == []  # the tick has had its run
    assert len(scheduler.tick(later + timedelta(minutes=5), background=False)) == 1


def test_a_tick_another_scheduler_already_started_is_not_run_again(http, oci, registry):
    create_policy(http, rule("always"), cron="0 0 * * * *")  # Harbor's six fields: hourly
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    first, second = RetentionScheduler(registry), RetentionScheduler(registry)
    due = first.due(later)
    assert len(first.tick(later, background=False)) == 1
    # the second process saw the same tick due before the first one's run reached its view
    policy, tick = due[0]
    from domain.errors import Conflict
    from domain.retention.run import scheduled_run_id
    from domain.base import Actor

    with pytest.raises(Conflict):
        registry.retention_runner.start(policy, False, "SCHEDULE", Actor(name="second"),
                                        scheduled_for=tick.isoformat(),
                                        run_id=scheduled_run_id(policy.id, tick.isoformat()), background=False)
    assert second.tick(later, background=False) == []


def test_manual_policies_are_never_scheduled(http, oci, registry):
    create_policy(http, rule("always"), kind="Manual")
    scheduler = RetentionScheduler(registry)
    assert scheduler.due(datetime.now(timezone.utc) + timedelta(days=400)) == []


def test_due_tick_is_the_latest_tick_not_every_missed_one():
    since = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert due_tick("0 * * * *", since, since + timedelta(minutes=30)) is None
    assert due_tick("0 * * * *", since, since + timedelta(hours=5, minutes=1)) == since + timedelta(hours=5)
    assert due_tick("30 0 0 * * *", since, since + timedelta(days=1)) == since + timedelta(seconds=30)
