"""Sign-in throttling, failed sign-ins in the audit log, and the wait across a restart,
on SQLite and on PostgreSQL (the flows are in sign_in_flows.py)."""

import pytest
from litestar.testing import TestClient

from infra.wiring.app import create_app
from infra.wiring.registry import build_registry
from tests.integration.sign_in_flows import (
    ATTACKER, CHEAP_HASHER, OWNER, SignInFlows, guess, sign_in,
)
from tests.integration.conftest import ADMIN_PASSWORD


class TestSignInsOnSqlite(SignInFlows):
    @pytest.fixture
    def backend(self):
        return "sqlite"


@pytest.mark.postgres
class TestSignInsOnPostgres(SignInFlows):
    @pytest.fixture
    def backend(self):
        return "postgres"

    def test_api_processes_on_one_database_share_the_wait(self, http, registry, settings, clock):
        # given: a second API process on the same database
        other = build_registry(settings)
        other.credentials.hasher = CHEAP_HASHER
        other.sign_ins.throttle.clock = clock
        try:
            with TestClient(create_app(settings, other), base_url="http://registry.test") as second:
                # when: one address guesses at the first process
                guess(http, ATTACKER, "admin", 5)
                registry.sign_ins.flush()
                other.sign_ins.tick()  # what its recorder does every second
                # then: the second makes it wait as well, and only it
                waiting = sign_in(second, ATTACKER, "admin", ADMIN_PASSWORD)
                assert waiting.status_code == 429 and waiting.headers["retry-after"] == "2"
                assert sign_in(second, OWNER, "admin", ADMIN_PASSWORD).status_code == 200
        finally:
            other.close()
