"""Keyless CI robots (ADR 0045), the trust policies: `GET/PUT /api/v2.0/robots/{robot_id}/trust`,
what a policy may say, who may set it, its events, the view rebuilt, and PostgreSQL."""

import pytest

from tests.integration.iam_helpers import (
    API, add_member, as_user, create_project, create_user, jwt_part, robot_body,
)
from tests.integration.keyless_world import (  # noqa: F401 - fixtures
    PUSH_PULL, ROBOT, backend, exchange, issuer, policy, robot, settings,
)
import tests.integration.test_keyless_robots as exchange_tests


def test_trust_is_answered_and_its_changes_are_robot_events(http, registry, robot, issuer):
    answer = http.get(f"{API}/robots/{robot['id']}/trust")
    assert answer.status_code == 200
    assert answer.json() == {"robot_id": robot["id"], "name": ROBOT, "policies": [policy(issuer)]}
    head = registry.app.head()
    same = http.put(f"{API}/robots/{robot['id']}/trust", json={"policies": [policy(issuer)]})
    assert same.status_code == 200
    assert registry.app.head() == head  # the same policies again: nothing to record
    assert http.put(f"{API}/robots/{robot['id']}/trust", json={"policies": []}).status_code == 200
    event = registry.app.mapper.to_domain_event(registry.app.recorder.select_notifications(start=head + 1,
                                                                                            limit=1)[0])
    assert type(event).__qualname__ == "Robot.TrustChanged" and event.policies == []
    assert event.actor == "admin"
    assert http.get(f"{API}/robots/{robot['id']}/trust").json()["policies"] == []


BAD = {
    "plain http elsewhere": {"issuer": "http://ci.example.com"},
    "no scheme": {"issuer": "ci.example.com"},
    "query": {"issuer": "https://ci.example.com/?x=1"},
    "credentials": {"issuer": "https://user:pw@ci.example.com"},
    "trailing slash": {"issuer": "https://ci.example.com/"},
    "too long": {"issuer": "https://ci.example.com/" + "a" * 300},
    "control character": {"subject": "repo:org/app\n"},
    "wildcard only": {"subject": "*", "claims": {}},
    "wildcard only, with wildcard claim": {"subject": "**", "claims": {"ref": "*"}},
    "nothing about the workload": {"subject": "", "claims": {}},
    "no audience": {"audience": ""},
    "wildcard audience": {"audience": "*"},
    "reserved claim": {"claims": {"iss": "x"}},
    "bad claim name": {"claims": {"a b": "x"}},
    "claim not a string": {"claims": {"run_attempt": 1}},
    "unknown field": {"issuers": ["x"]},
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_policies_are_400_and_change_nothing(http, registry, robot, issuer, case):
    head = registry.app.head()
    answer = http.put(f"{API}/robots/{robot['id']}/trust", json={"policies": [policy(issuer, **BAD[case])]})
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["code"] == "BAD_REQUEST"
    assert registry.app.head() == head


def test_at_most_ten_policies(http, registry, robot, issuer):
    many = [policy(issuer, subject=f"repo:org/app{i}:*") for i in range(11)]
    assert http.put(f"{API}/robots/{robot['id']}/trust", json={"policies": many}).status_code == 400
    assert http.put(f"{API}/robots/{robot['id']}/trust", json={"policies": many[:10]}).status_code == 200


def test_only_who_may_update_the_robot_may_change_its_trust(http, registry, robot, issuer):
    create_user(http, "dave")
    add_member(http, "p1", "dave", 2)  # a developer: no robot rights
    create_user(http, "nora")
    create_project(http, "p3", headers=as_user("nora"))  # the admin of another project
    weaker = {"policies": [policy(issuer, subject="repo:dave/*")]}
    head = registry.app.head()
    for headers in (as_user("dave"), as_user("nora"), as_user(ROBOT, robot["secret"]),
                    as_user(ROBOT, issuer.mint())):
        answer = http.put(f"{API}/robots/{robot['id']}/trust", json=weaker, headers=headers)
        assert answer.status_code == 403, answer.text
    assert registry.app.head() == head
    # reading it takes what reading the robot takes (a developer may; another project's admin not)
    for who, code in (("dave", 200), ("nora", 403)):
        assert http.get(f"{API}/robots/{robot['id']}", headers=as_user(who)).status_code == code
        assert http.get(f"{API}/robots/{robot['id']}/trust", headers=as_user(who)).status_code == code
    # a project admin of p1 may
    add_member(http, "p1", "nora", 1)
    assert http.put(f"{API}/robots/{robot['id']}/trust", json=weaker,
                    headers=as_user("nora")).status_code == 200


def test_a_robot_id_beyond_any_is_404(http, robot):
    assert http.get(f"{API}/robots/{2**62}/trust").status_code == 404
    assert http.put(f"{API}/robots/{2**62}/trust", json={"policies": []}).status_code == 404


def test_the_identity_view_rebuilt_has_the_same_trust(http, registry, robot, issuer):
    from projections.projector import checksum
    from projections.rebuild import rebuild

    other = http.post(f"{API}/robots", json=robot_body("p1", name="other", access=PUSH_PULL)).json()
    assert http.put(f"{API}/robots/{other['id']}/trust", json={"policies": [policy(issuer)]}).status_code == 200
    assert http.delete(f"{API}/robots/{other['id']}").status_code == 200
    registry.catch_up()
    projector = registry.iam_projector
    live = checksum(registry.db, projector.view.p, projector.view.tables)
    assert registry.db.read("SELECT COUNT(*) FROM iam_robot_trust")[0][0] == 1
    assert rebuild(registry.app, registry.db, type(projector.view), projector) == live


def test_a_system_robots_trust_is_the_administrators(http, registry, robot, issuer):
    create_user(http, "pam")
    add_member(http, "p1", "pam", 1)  # project admin of p1
    system = http.post(f"{API}/robots", json={"name": "sysci", "level": "system", "duration": -1, "permissions": [
        {"kind": "project", "namespace": "p1", "access": [{"resource": "repository", "action": "pull"}]}]}).json()
    trust = {"policies": [policy(issuer)]}
    head = registry.app.head()
    answer = http.put(f"{API}/robots/{system['id']}/trust", json=trust, headers=as_user("pam"))
    assert answer.status_code == 403, answer.text
    assert registry.app.head() == head
    assert http.put(f"{API}/robots/{system['id']}/trust", json=trust).status_code == 200
    answer = exchange(http, issuer.mint(), "repository:p1/app:pull,push", name=system["name"])
    assert answer.status_code == 200
    assert jwt_part(answer.json()["token"], 1)["access"][0]["actions"] == ["pull"]


class TestOnPostgres:
    """The same SQL on PostgreSQL: trust set, exchanged, gone with the robot, rebuilt alike."""

    @pytest.fixture
    def backend(self):
        return "postgres"

    def test_trust_exchange_and_recreation(self, http, registry, robot, issuer):
        exchange_tests.test_a_matching_id_token_gets_a_registry_token_for_what_the_robot_may(http, robot, issuer)
        test_the_identity_view_rebuilt_has_the_same_trust(http, registry, robot, issuer)
        exchange_tests.test_a_robot_deleted_and_made_again_under_the_name_trusts_nobody(http, robot, issuer)
