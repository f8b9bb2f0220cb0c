"""The retention decision as a pure function: Harbor's templates, selectors and the OR of rules."""

import time

import msgspec
import pytest

from domain.errors import BadRequest
from domain.retention.policy import PolicySpec, RetentionRule, check_policy
from domain.retention.evaluation import DAY, Candidate, evaluate
from domain.selectors import Selector

NOW = 1_800_000_000.0


def rule(template: str, n: int | None = None, tags: str = "**", repos: str = "**", kind: str = "doublestar",
         decoration: str = "matches", untagged: bool = False, rule_id: int = 1) -> RetentionRule:
    params = {template: n} if n is not None else {}
    extras = '{"untagged": true}' if untagged else ""
    return RetentionRule(id=rule_id, template=template, params=params,
                         tag_selectors=[Selector(kind, decoration, tags, extras)],
                         repository_selectors=[Selector("doublestar", "repoMatches", repos)])


def artifact(name: str, pushed_days_ago: float, pulled_days_ago: float | None = None, *tags: str) -> Candidate:
    return Candidate(f"sha256:{name}", list(tags or (name,)), NOW - pushed_days_ago * DAY,
                     None if pulled_days_ago is None else NOW - pulled_days_ago * DAY)


def kept(verdicts) -> set[str]:
    return {v.digest.split(":")[1] for v in verdicts if v.action == "retain"}


def test_latest_pushed_keeps_the_k_newest():
    candidates = [artifact(f"a{i}", 10 - i) for i in range(10)]
    assert kept(evaluate([rule("latestPushedK", 3)], "app", candidates, NOW)) == {"a7", "a8", "a9"}


def test_latest_pulled_orders_by_last_pull_and_never_pulled_come_last():
    candidates = [artifact("a", 1, 5), artifact("b", 2, 1), artifact("c", 3), artifact("d", 4)]
    assert kept(evaluate([rule("latestPulledN", 2)], "app", candidates, NOW)) == {"a", "b"}
    assert kept(evaluate([rule("latestPulledN", 3)], "app", candidates, NOW)) == {"a", "b", "c"}


def test_days_since_push_and_pull():
    candidates = [artifact("new", 1), artifact("old", 30, 2), artifact("stale", 30, 20)]
    assert kept(evaluate([rule("nDaysSinceLastPush", 7)], "app", candidates, NOW)) == {"new"}
    assert kept(evaluate([rule("nDaysSinceLastPull", 7)], "app", candidates, NOW)) == {"old"}


def test_an_artifact_any_rule_retains_is_kept_and_the_deleter_is_named():
    candidates = [artifact("v1", 5, None, "v1"), artifact("dev", 4, None, "dev-1"), artifact("x", 3, None, "x")]
    rules = [rule("always", tags="v*", rule_id=1), rule("latestPushedK", 0, tags="dev-*", rule_id=2)]
    verdicts = {v.digest: v for v in evaluate(rules, "app", candidates, NOW)}
    assert (verdicts["sha256:v1"].action, verdicts["sha256:v1"].rule) == ("retain", 1)
    assert (verdicts["sha256:dev"].action, verdicts["sha256:dev"].rule) == ("delete", 2)
    assert verdicts["sha256:x"].action == "delete" and "no rule" in verdicts["sha256:x"].reason


def test_excludes_and_regex_and_untagged():
    candidates = [artifact("a", 1, None, "latest"), artifact("b", 2, None, "v1.2"), Candidate("sha256:u", [], NOW)]
    assert kept(evaluate([rule("always", tags="latest", decoration="excludes")], "app", candidates, NOW)) == {"b"}
    assert kept(evaluate([rule("always", tags=r"v\d+\.\d+", kind="regex")], "app", candidates, NOW)) == {"b"}
    assert kept(evaluate([rule("always", untagged=True)], "app", candidates, NOW)) == {"a", "b", "u"}


def test_repositories_out_of_scope_and_disabled_rules_are_left_alone():
    candidates = [artifact("a", 1)]
    assert evaluate([rule("latestPushedK", 0, repos="web/**")], "tools/cli", candidates, NOW) is None
    disabled = msgspec.structs.replace(rule("latestPushedK", 0), disabled=True)
    assert evaluate([disabled], "app", candidates, NOW) is None


def test_immutable_tags_are_always_retained():
    candidates = [artifact("r", 9, None, "release-1"), artifact("d", 1, None, "dev")]
    verdicts = evaluate([rule("latestPushedK", 0)], "app", candidates, NOW, lambda t: t.startswith("release"))
    assert kept(verdicts) == {"r"}


def test_ten_thousand_candidates_evaluate_quickly():
    candidates = [artifact(f"a{i}", i / 100) for i in range(10_000)]
    started = time.perf_counter()
    verdicts = evaluate([rule("latestPushedK", 10), rule("nDaysSinceLastPush", 7, tags="a1*")], "app",
                        candidates, NOW)
    assert time.perf_counter() - started < 5
    assert len(verdicts) == 10_000


@pytest.mark.parametrize("spec,field", [
    (PolicySpec([rule("latestPushedK")]), "rules[0].params.latestPushedK"),
    (PolicySpec([rule("latestPushedK", -2)]), "rules[0].params.latestPushedK"),
    (PolicySpec([rule("always")], cron="61 * * * *"), "trigger.settings.cron"),
    (PolicySpec([rule("always")], trigger="Manual", cron="0 * * * *"), "trigger.settings.cron"),
])
def test_bad_policies_name_the_field(spec, field):
    with pytest.raises(BadRequest) as refused:
        check_policy(spec)
    assert field in refused.value.message


def test_rule_ids_follow_their_position_and_params_are_normalised():
    spec = check_policy(PolicySpec([rule("always", rule_id=9), rule("latestPushedK", 3.0, rule_id=0)],
                                   trigger="schedule", cron="0 0 0 * * *"))
    assert [r.id for r in spec.rules] == [1, 2]
    assert spec.rules[1].params == {"latestPushedK": 3} and spec.trigger == "Schedule"
