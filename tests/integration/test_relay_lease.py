"""One relay at a time: the lease on SQLite (a file lock) and on PostgreSQL (an advisory lock)."""

import pytest

from workers.relay_lease import FileLease, PostgresLease


def test_only_one_holder_of_a_file_lease_until_it_lets_go(tmp_path):
    first, second = FileLease(tmp_path / "relay.lock"), FileLease(tmp_path / "relay.lock")
    assert first.acquire() and first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


@pytest.mark.postgres
def test_only_one_session_holds_the_postgres_lease_until_it_ends(postgres_url):
    first, second = PostgresLease(postgres_url, "kafka"), PostgresLease(postgres_url, "kafka")
    other = PostgresLease(postgres_url, "webhooks")
    try:
        assert first.acquire() and first.acquire()
        assert not second.acquire()
        assert other.acquire()  # another relay's lease is another lock
        first.release()  # as when the holding process dies: its session ends
        assert second.acquire()
    finally:
        for lease in (first, second, other):
            lease.release()
