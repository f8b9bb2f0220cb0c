"""Sign-in throttling as clients see it, shared by the SQLite and PostgreSQL suites.

Requests come from chosen addresses through a trusted proxy's X-Forwarded-For
(the test client is the proxy), and the throttle's clock is a fake one that
tests move forward, so no test waits.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import msgspec
import pytest
from argon2 import PasswordHasher
from litestar.testing import TestClient

from infra.wiring.app import create_app
from infra.wiring.registry import build_registry
from tests.integration.conftest import ADMIN_PASSWORD, basic
from tests.integration.iam_helpers import API, create_user, password_of

ATTACKER = "203.0.113.7"
OWNER = "198.51.100.2"
WRONG = "Guess-Passw0rd-1"
TOKEN = "/service/token"
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class Clock:
    """Wall time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def from_address(address: str, name: str, password: str) -> dict:
    return {"authorization": basic(name, password), "x-forwarded-for": address}


def sign_in(http, address: str, name: str, password: str, door: str = "rest"):
    """One sign-in through a door: Basic on /api/v2.0, the token service, or Basic on /v2/."""
    headers = from_address(address, name, password)
    if door == "token":
        return http.get(TOKEN, params={"service": "tidemark", "scope": "repository:library/app:pull"},
                        headers=headers)
    if door == "oci":
        return http.get("/v2/", headers=headers)
    return http.get(f"{API}/users/current", headers=headers)


def guess(http, address: str, name: str, times: int, door: str = "rest") -> None:
    for n in range(times):
        assert sign_in(http, address, name, f"{WRONG}{n}", door).status_code == 401


def in_parallel(request, count: int) -> list:
    """`count` requests sent at once from threads (the test client is thread-safe)."""
    start = threading.Barrier(count)

    def send(n: int):
        start.wait()
        return request(n)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(send, range(count)))


def codes(response) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]


def recorded_events(registry) -> list:
    from domain.iam.sign_ins import SignInFailures

    notifications = registry.app.recorder.select_notifications(start=1, limit=100_000)
    events = [registry.app.mapper.to_domain_event(n) for n in notifications]
    return [e for e in events if isinstance(e, SignInFailures.Recorded)]


class SignInFlows:
    """The flows; subclasses choose the backend."""

    @pytest.fixture
    def settings(self, settings):
        return msgspec.structs.replace(settings, trusted_proxies="testclient")

    @pytest.fixture
    def clock(self) -> Clock:
        return Clock()

    @pytest.fixture
    def registry(self, registry, clock):
        registry.credentials.hasher = CHEAP_HASHER  # as IamTests does: these tests sign in a lot
        registry.sign_ins.throttle.clock = clock
        return registry

    @pytest.fixture
    def alice(self, http) -> str:
        create_user(http, "alice")
        return "alice"

    def test_right_password_from_another_source_works_while_one_source_waits(self, http, alice):
        # given: five wrong guesses for alice from one address
        guess(http, ATTACKER, alice, 5)
        # when / then: that address waits, even with the right password, at every door
        for door in ("rest", "token", "oci"):
            refused = sign_in(http, ATTACKER, alice, password_of(alice), door)
            assert refused.status_code == 429, door
            assert refused.headers["retry-after"] == "2"
        # and alice herself, from her own address, signs in through every door
        assert sign_in(http, OWNER, alice, password_of(alice)).json()["username"] == alice
        assert "token" in sign_in(http, OWNER, alice, password_of(alice), "token").json()
        assert sign_in(http, OWNER, alice, password_of(alice), "oci").status_code == 200
        # and the built-in admin, whom nobody guessed at, is untouched too
        assert sign_in(http, ATTACKER, "admin", ADMIN_PASSWORD).status_code == 200

    def test_each_door_answers_the_wait_in_its_own_error_format(self, http, alice):
        guess(http, ATTACKER, alice, 5, door="token")
        rest = sign_in(http, ATTACKER, alice, WRONG)
        assert codes(rest) == ["TOO_MANY_REQUEST"]  # Harbor's name under /api/v2.0
        for door in ("token", "oci"):  # the distribution spec's, which Docker clients know
            answer = sign_in(http, ATTACKER, alice, WRONG, door)
            assert answer.status_code == 429 and codes(answer) == ["TOOMANYREQUESTS"]
            assert "try again in 2 s" in answer.json()["errors"][0]["message"]

    def test_waits_double_with_each_failure_up_to_the_cap(self, http, alice, clock, registry):
        registry.sign_ins.throttle.pair = msgspec.structs.replace(
            registry.sign_ins.throttle.pair, max_seconds=8)
        guess(http, ATTACKER, alice, 5)
        waits = []
        for _ in range(4):
            waiting = sign_in(http, ATTACKER, alice, WRONG)
            assert waiting.status_code == 429
            waits.append(int(waiting.headers["retry-after"]))
            clock.advance(waits[-1] - 1)  # a second early: still waiting, nothing counted
            early = sign_in(http, ATTACKER, alice, WRONG)
            assert early.status_code == 429 and early.headers["retry-after"] == "1"
            clock.advance(1)
            assert sign_in(http, ATTACKER, alice, WRONG).status_code == 401  # one more guess
        assert waits == [2, 4, 8, 8]
        # a right password from the waiting address, once its wait is over, clears its count
        clock.advance(8)
        assert sign_in(http, ATTACKER, alice, password_of(alice)).status_code == 200
        assert sign_in(http, ATTACKER, alice, WRONG).status_code == 401

    def test_parallel_guesses_get_no_more_tries_than_sequential_ones(self, http, alice):
        answers = in_parallel(lambda n: sign_in(http, ATTACKER, alice, f"{WRONG}{n}"), 12)
        assert sorted(a.status_code for a in answers) == [401] * 5 + [429] * 7

    def test_parallel_requests_of_one_client_are_checked_once(self, http, alice, registry):
        registry.credentials.hasher = PasswordHasher()  # a real check's cost: they overlap
        answers = in_parallel(lambda n: sign_in(http, OWNER, alice, password_of(alice)), 12)
        assert [a.status_code for a in answers] == [200] * 12

    def test_four_wrong_passwords_cost_no_wait(self, http, alice):
        guess(http, ATTACKER, alice, 4)
        assert sign_in(http, ATTACKER, alice, password_of(alice)).status_code == 200

    def test_one_source_trying_many_names_waits_for_all_of_them(self, http, alice):
        for n in range(20):
            assert sign_in(http, ATTACKER, f"user{n}", WRONG).status_code == 401
        assert sign_in(http, ATTACKER, alice, password_of(alice)).status_code == 429
        assert sign_in(http, OWNER, alice, password_of(alice)).status_code == 200

    def test_failures_are_logged_once_a_source_must_wait(self, http, alice):
        from structlog.testing import capture_logs

        with capture_logs() as logs:
            guess(http, ATTACKER, alice, 5, door="token")
            sign_in(http, ATTACKER, alice, WRONG)
        [line] = [entry for entry in logs if entry["event"] == "sign-ins throttled"]
        assert line["log_level"] == "warning"
        assert (line["client_ip"], line["user"], line["failures"], line["retry_after"],
                line["door"]) == (ATTACKER, alice, 5, 2, "token")
        assert not any(WRONG in repr(entry) for entry in logs)

    def test_audit_log_shows_failures_with_client_address(self, http, alice, registry):
        # given: guesses for alice, for a name that is no account, and refused attempts
        guess(http, ATTACKER, alice, 5, door="oci")
        for _ in range(3):
            assert sign_in(http, ATTACKER, alice, WRONG).status_code == 429
        guess(http, OWNER, "no\u202ebody", 1, door="token")
        # when
        registry.sign_ins.flush()
        registry.catch_up()
        rows = http.get(f"{API}/audit-logs", params={"q": "operation=login_failed",
                                                     "page_size": 50}).json()
        # then
        assert len(rows) == 6
        unknown, *guesses = rows  # newest first
        assert {(r["username"], r["resource"], r["resource_type"], r["client_ip"])
                for r in guesses} == {("anonymous", alice, "user", ATTACKER)}
        assert (unknown["resource"], unknown["resource_type"], unknown["client_ip"]) == \
            ("no\\u202ebody", "unknown_user", OWNER)
        assert all(r["request_id"] for r in rows)
        [waits] = http.get(f"{API}/audit-logs", params={"q": "operation=login_throttled"}).json()
        assert (waits["resource"], waits["client_ip"]) == \
            (f"{alice}: 3 attempts refused while waiting", ATTACKER)
        # the events say which door, and never hold a password
        failures = [f for e in recorded_events(registry) for f in e.failures]
        assert [f["door"] for f in failures] == ["oci"] * 5 + ["token"]
        assert [f["known"] for f in failures] == [True] * 5 + [False]
        states = b"".join(n.state for n in registry.app.recorder.select_notifications(1, 100_000))
        assert WRONG.encode() not in states

    def test_failed_sign_ins_are_not_published_in_the_event_feed(self, http, alice, registry):
        guess(http, ATTACKER, alice, 2)
        registry.sign_ins.flush()
        feed = http.get(f"{API}/events", params={"limit": 1000}).json()
        assert feed and not any("sign" in e["type"] or ATTACKER in repr(e) for e in feed)

    def test_the_wait_survives_a_restart_on_the_same_data(self, settings, clock):
        # given: an address that has to wait, and a server that stops
        first = build_registry(settings)
        first.sign_ins.throttle.clock = clock
        with TestClient(create_app(settings, first), base_url="http://registry.test") as http:
            http.headers["authorization"] = basic("admin", ADMIN_PASSWORD)
            guess(http, ATTACKER, "admin", 5)
            clock.advance(2)
            guess(http, ATTACKER, "admin", 1)  # the sixth failure: a wait of 4 s
            assert sign_in(http, ATTACKER, "admin", ADMIN_PASSWORD).headers["retry-after"] == "4"
        first.close()
        clock.advance(1)
        # when: it starts again on the same data directory
        second = build_registry(settings)
        second.sign_ins.throttle.clock = clock
        try:
            with TestClient(create_app(settings, second), base_url="http://registry.test") as http:
                # then: the wait goes on where it was, for that address only
                waiting = sign_in(http, ATTACKER, "admin", ADMIN_PASSWORD)
                assert waiting.status_code == 429 and waiting.headers["retry-after"] == "3"
                assert sign_in(http, OWNER, "admin", ADMIN_PASSWORD).status_code == 200
                clock.advance(3)
                guess(http, ATTACKER, "admin", 1)  # the seventh failure: the wait doubles again
                assert sign_in(http, ATTACKER, "admin", WRONG).headers["retry-after"] == "8"
        finally:
            second.close()

    def test_x_forwarded_for_is_ignored_from_untrusted_peers(self, settings):
        untrusted = msgspec.structs.replace(settings, trusted_proxies="")
        registry = build_registry(untrusted)
        registry.credentials.hasher = CHEAP_HASHER
        try:
            with TestClient(create_app(untrusted, registry), base_url="http://registry.test") as direct:
                direct.headers["authorization"] = basic("admin", ADMIN_PASSWORD)
                create_user(direct, "alice")
                # given: five guesses, each claiming to come from another address
                for n in range(5):
                    assert sign_in(direct, f"192.0.2.{n}", "alice", WRONG).status_code == 401
                # then: all were counted for the one peer that sent them
                assert sign_in(direct, OWNER, "alice", password_of("alice")).status_code == 429
        finally:
            registry.close()
