"""Webhook policies: bad input is refused with a 400 naming the field; only project
admins (and system admins) change policies; maintainers may read them."""

import pytest

from tests.integration.iam_helpers import add_member, anonymous, as_user, create_user, errors

HOOKS = "/api/v2.0/projects/library/webhook/policies"


@pytest.fixture
def backend():
    return "sqlite"


def policy(address: str = "http://127.0.0.1:9/hook", event_types=("PUSH_ARTIFACT",), **target) -> dict:
    return {"name": "hook", "event_types": list(event_types),
            "targets": [{"type": "http", "address": address, **target}]}


def refused(http, body: dict) -> str:
    response = http.post(HOOKS, json=body)
    assert response.status_code == 400, response.text
    assert errors(response) == ["BAD_REQUEST"]
    return response.json()["errors"][0]["message"]


@pytest.mark.parametrize("address", ["ftp://example.com/hook", "file:///etc/passwd", "example.com/hook",
                                     "javascript:alert(1)", ""])
def test_a_target_that_is_not_an_http_url_is_refused(http, address):
    assert refused(http, policy(address)).startswith("targets[0].address: ")


@pytest.mark.parametrize("address", [
    "http://169.254.169.254/latest/meta-data/", "https://169.254.1.1:8443/x", "http://[fe80::1]/hook",
    "http://[::ffff:169.254.169.254]/", "http://2852039166/", "http://metadata.google.internal/",
    "http://[fd00:ec2::254]/"])
def test_link_local_and_metadata_targets_are_refused(http, address):
    message = refused(http, policy(address))
    assert message.startswith("targets[0].address: ") and "link-local" in message


def test_a_setting_allows_link_local_targets(http):
    http.app.state.registry.settings.webhook_allow_link_local = True
    assert http.post(HOOKS, json=policy("http://169.254.169.254/hook")).status_code == 201


def test_unknown_event_types_and_formats_are_refused(http):
    assert refused(http, policy(event_types=["PUSH_ARTIFACT", "PUSH_CHART"])).startswith("event_types: ")
    assert refused(http, policy(event_types=[])).startswith("event_types: ")
    assert refused(http, policy(payload_format="XML")).startswith("targets[0].payload_format: ")
    assert refused(http, {**policy(), "targets": [{"type": "email", "address": "http://x/"}]}) \
        .startswith("targets[0].type: ")
    assert refused(http, {**policy(), "targets": []}).startswith("targets: ")
    assert refused(http, {**policy(), "name": ""}).startswith("name: ")


def test_credentials_in_the_url_are_refused_and_names_are_unique(http):
    assert "auth_header" in refused(http, policy("https://user:pass@example.com/hook"))
    assert http.post(HOOKS, json=policy()).status_code == 201
    assert http.post(HOOKS, json=policy()).status_code == 409


def test_a_developer_cannot_create_policies_and_a_maintainer_only_reads(http):
    create_user(http, "dev")
    create_user(http, "maint")
    add_member(http, "library", "dev", 2)
    add_member(http, "library", "maint", 4)
    created = http.post(HOOKS, json=policy())
    assert created.status_code == 201
    refused_dev = http.post(HOOKS, json={**policy(), "name": "mine"}, headers=as_user("dev"))
    assert refused_dev.status_code == 403 and errors(refused_dev) == ["FORBIDDEN"]
    assert http.get(HOOKS, headers=as_user("dev")).status_code == 403
    assert http.get(HOOKS, headers=as_user("maint")).status_code == 200
    assert http.post(HOOKS, json={**policy(), "name": "m"}, headers=as_user("maint")).status_code == 403
    location = created.headers["location"]
    assert http.delete(location, headers=as_user("maint")).status_code == 403


def test_anonymous_callers_are_asked_to_log_in(http):
    assert anonymous(http, "POST", HOOKS, json=policy()).status_code == 401
    assert anonymous(http, "GET", HOOKS).status_code == 401


def test_a_policy_name_cannot_change_and_unknown_policies_are_404(http):
    location = http.post(HOOKS, json=policy()).headers["location"]
    policy_id = location.rsplit("/", 1)[1]
    renamed = http.put(f"{HOOKS}/{policy_id}", json={**policy(), "name": "other"})
    assert renamed.status_code == 400 and "name: " in renamed.json()["errors"][0]["message"]
    assert http.get(f"{HOOKS}/999999").status_code == 404
    assert http.put(f"{HOOKS}/999999", json=policy()).status_code == 404
