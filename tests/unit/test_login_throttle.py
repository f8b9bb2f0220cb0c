"""The login throttle's rules, on a fake clock."""

from infra.auth.login_throttle import LoginThrottle, Rule, source_key

PAIR = Rule(free=5, base_seconds=2, max_seconds=900, window_seconds=3600)
SOURCE = Rule(free=20, base_seconds=2, max_seconds=900, window_seconds=3600)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock=None, **kwargs) -> LoginThrottle:
    return LoginThrottle(PAIR, SOURCE, clock=clock or Clock(), **kwargs)


def fail(t: LoginThrottle, ip: str, name: str, times: int = 1) -> int:
    waiting = 0
    for _ in range(times):
        assert t.begin(ip, name) == 0
        waiting = t.end(ip, name, failed=True)[2]
    return waiting


def test_parallel_guesses_get_no_more_checks_than_sequential_ones():
    t = throttle()
    started = [t.begin("203.0.113.7", "admin") for _ in range(10)]
    assert started == [0] * 5 + [1] * 5
    for _ in range(5):
        t.end("203.0.113.7", "admin", failed=True)
    assert t.begin("203.0.113.7", "admin") == 2  # and now the wait


def test_past_the_free_failures_only_one_check_at_a_time():
    clock = Clock()
    t = throttle(clock)
    fail(t, "203.0.113.7", "admin", 5)
    clock.now += 2
    assert [t.begin("203.0.113.7", "admin") for _ in range(3)] == [0, 1, 1]


def test_a_quiet_source_is_forgotten_after_the_window():
    clock = Clock()
    t = throttle(clock)
    assert fail(t, "203.0.113.7", "admin", 5) == 2
    clock.now += 3601
    assert t.wait("203.0.113.7", "admin") == 0 and t.tracked() == 0
    assert fail(t, "203.0.113.7", "admin", 4) == 0  # four free failures again


def test_a_success_clears_its_own_name_only_not_the_source():
    t = throttle()
    for n in range(19):
        fail(t, "203.0.113.7", f"user{n}")
    assert t.begin("203.0.113.7", "mine") == 0
    t.end("203.0.113.7", "mine", failed=False)  # the attacker's own account
    assert fail(t, "203.0.113.7", "user0") == 2  # the 20th failure from that source: a wait


def test_failures_seen_in_the_log_count_like_live_ones():
    clock = Clock()
    t = throttle(clock)
    for n in range(6):  # the fifth a moment ago asked for 2 s, the sixth for 4 s
        t.failed_at("203.0.113.7", "admin", clock.now - 6 + n)
    assert t.wait("203.0.113.7", "admin") == 3
    assert t.wait("198.51.100.2", "admin") == 0


def test_ipv6_addresses_of_one_slash_64_are_one_source():
    assert source_key("2001:db8:1:2::1") == source_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert source_key("2001:db8:1:3::1") != source_key("2001:db8:1:2::1")
    assert source_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert source_key("testclient") == "testclient"


def test_tracked_counters_are_bounded():
    t = throttle(max_tracked=100)
    for n in range(500):
        fail(t, f"10.0.{n // 250}.{n % 250}", "admin")
    assert t.tracked() <= 100
