"""Trust policies of keyless CI robots (domain/iam/workload_trust.py, ADR 0045): what a policy
may say, how it matches a token's claims, and the robot's events."""

import pytest

from domain.base import Actor
from domain.errors import BadRequest, Conflict
from domain.iam.robot import Grant, Robot
from domain.iam.workload_trust import (
    TrustPolicy, check_issuer, check_trust, first_refusal, glob_matches, policy_matches,
)
from infra.auth.workload_identity import presents_id_token

ALICE = Actor(name="alice", client_ip="10.0.0.1", request_id="r1")
GH = "https://token.actions.githubusercontent.com"
BRANCHES = TrustPolicy(GH, "tidemark", "repo:org/app:ref:refs/heads/*", {"repository_owner": "org"})


def claims(**overrides) -> dict:
    return {"iss": GH, "aud": "tidemark", "sub": "repo:org/app:ref:refs/heads/main",
            "repository_owner": "org", **overrides}


@pytest.mark.parametrize("pattern, value, expected", [
    ("repo:org/app:ref:refs/heads/*", "repo:org/app:ref:refs/heads/main", True),
    ("repo:org/app:ref:refs/heads/*", "repo:org/app:ref:refs/heads/feature/x", True),
    ("repo:org/app:ref:refs/heads/*", "repo:org/app:ref:refs/tags/v1", False),
    ("repo:org/app:ref:refs/heads/*", "repo:org/app2:ref:refs/heads/main", False),
    ("repo:org/*:environment:prod", "repo:org/app:environment:prod", True),
    ("repo:org/app", "repo:org/app:ref:refs/heads/main", False),  # exact means exact
    ("a.b", "aXb", False),  # only `*` is special
    ("[ab]", "a", False),
    ("a*", "a\nb", True),
    ("*", "", True), ("", "", True), ("", "a", False), ("a**b", "ab", True), ("*b", "aab", True),
    ("a*b*c", "abxbc", True), ("a*b*c", "abxb", False), ("*:*", "x", False),
])
def test_a_glob_has_one_wildcard_and_everything_else_is_literal(pattern, value, expected):
    assert glob_matches(pattern, value) is expected


def test_a_pathological_glob_is_answered_without_backtracking():
    """A regular expression `.*a.*a...` would take longer than the age of the universe here."""
    assert not glob_matches("*a" * 120 + "*b", "a" * 255)
    assert glob_matches("*a" * 120 + "*", "a" * 255)
    assert not glob_matches("*", "a" * 1025)  # longer than any claim a condition looks at


def test_a_policy_matches_issuer_audience_subject_and_claims():
    assert policy_matches(BRANCHES, claims()) is None
    assert policy_matches(BRANCHES, claims(aud=["x", "tidemark"])) is None
    assert policy_matches(BRANCHES, claims(iss=GH + "/")) == "issuer not trusted"
    assert policy_matches(BRANCHES, claims(aud="other")) == "audience not trusted"
    assert policy_matches(BRANCHES, claims(sub="repo:org/app:pull_request")) == "subject does not match"
    assert policy_matches(BRANCHES, claims(repository_owner="evil")) == "claim repository_owner does not match"
    assert policy_matches(BRANCHES, claims(repository_owner=None)) == "claim repository_owner does not match"
    assert policy_matches(BRANCHES, claims(repository_owner={"x": 1})) == "claim repository_owner does not match"


def test_numbers_and_booleans_compare_as_json_writes_them():
    policy = TrustPolicy(GH, "tidemark", "", {"run_attempt": "1", "protected": "true"})
    assert policy_matches(policy, claims(run_attempt=1, protected=True)) is None
    assert policy_matches(policy, claims(run_attempt=1, protected="false")) == "claim protected does not match"


def test_the_reason_is_that_of_the_policy_that_came_closest():
    other = TrustPolicy("https://gitlab.example.com", "tidemark", "project_path:org/app:*")
    assert first_refusal([other, BRANCHES], claims(repository_owner="x")) == "claim repository_owner does not match"
    assert first_refusal([other], claims()) == "issuer not trusted"
    assert first_refusal([], claims()) == "the robot trusts no issuer"
    assert first_refusal([other, BRANCHES], claims()) is None


@pytest.mark.parametrize("url, allowed", [
    (GH, True), ("https://gitlab.example.com/oidc", True), ("http://127.0.0.1:8080", True),
    ("http://[::1]:9000", True), ("http://localhost:1", True),
    ("http://ci.example.com", False), ("http://10.0.0.1", False), ("ftp://ci.example.com", False),
    ("https://", False), ("https://x/?q", False), ("https://x#f", False), ("https://u@x", False),
    ("https://x/", False), ("https://x:99999", False), ("https://x/\u202e", False), ("", False),
])
def test_an_issuer_is_https_or_loopback_http_when_allowed(url, allowed):
    if allowed:
        assert check_issuer(url, allow_http_loopback=True) == url
    else:
        with pytest.raises(BadRequest):
            check_issuer(url, allow_http_loopback=True)


def test_loopback_http_needs_the_setting():
    with pytest.raises(BadRequest):
        check_issuer("http://127.0.0.1:8080", allow_http_loopback=False)


@pytest.mark.parametrize("policy", [
    TrustPolicy(GH, "tidemark", "*"),
    TrustPolicy(GH, "tidemark", "", {"ref": "**"}),
    TrustPolicy(GH, "tidemark"),
    TrustPolicy(GH, "", "repo:org/app:*"),
    TrustPolicy(GH, "tide*", "repo:org/app:*"),
    TrustPolicy(GH, "tidemark", "repo:org/app:*", {"sub": "x"}),
    TrustPolicy(GH, "tidemark", "repo:org/app:*", {"exp": "1"}),
    TrustPolicy(GH, "tidemark", "repo:org/app:*", {"": "x"}),
    TrustPolicy(GH, "tidemark", "repo:org/app:*", {"ref": ""}),
    TrustPolicy(GH, "tidemark", "x" * 256),
    TrustPolicy(GH, "tidemark", "repo:\x00"),
    TrustPolicy(GH, "tidemark", "repo:org/app:*", {f"c{i}": "v" for i in range(11)}),
])
def test_a_policy_must_name_the_workload_within_bounds(policy):
    with pytest.raises(BadRequest):
        check_trust([policy], allow_http_loopback=False)


def test_at_most_ten_distinct_policies():
    many = [TrustPolicy(GH, "tidemark", f"repo:org/app{i}:*") for i in range(11)]
    assert check_trust(many[:10], False) == many[:10]
    with pytest.raises(BadRequest):
        check_trust(many, False)
    with pytest.raises(BadRequest):
        check_trust([BRANCHES, BRANCHES], False)


def _robot() -> Robot:
    grants = [Grant("project", "p1", [("repository", "pull")])]
    return Robot.create("robot$p1+ci", "project", "", grants, -1, -1, ALICE)


def test_trust_changes_are_events_on_the_robot_and_the_same_trust_records_nothing():
    robot = _robot()
    robot.collect_events()
    robot.set_trust([BRANCHES], False, ALICE)
    events = robot.collect_events()
    assert [type(e).__name__ for e in events] == ["TrustChanged"]
    assert events[0].policies == [{"issuer": GH, "audience": "tidemark",
                                   "subject": "repo:org/app:ref:refs/heads/*",
                                   "claims": {"repository_owner": "org"}}]
    assert events[0].actor == "alice" and robot.trust == events[0].policies
    robot.set_trust([BRANCHES], False, ALICE)
    assert robot.collect_events() == []
    robot.set_trust([], False, ALICE)
    assert robot.trust == []


def test_a_deleted_robot_takes_no_trust_and_one_made_again_starts_with_none():
    robot = _robot()
    robot.set_trust([BRANCHES], False, ALICE)
    robot.delete(ALICE)
    with pytest.raises(Conflict):
        robot.set_trust([BRANCHES], False, ALICE)
    robot.recreate("", [Grant("project", "p1", [("repository", "pull")])], -1, -1, ALICE)
    assert robot.trust == []


def test_only_a_robot_name_with_a_jwt_is_taken_for_an_id_token():
    jwt_like = "eyJhbGciOiJSUzI1NiJ9." + "e" * 200 + ".sig"
    assert presents_id_token("robot$p1+ci", jwt_like)
    assert not presents_id_token("alice", jwt_like)  # users sign in with passwords
    assert not presents_id_token("robot$p1+ci", "eyJ." + "x" * 120 + ".y")  # a secret's length
    assert not presents_id_token("robot$p1+ci", "Tm" + "x" * 200)
