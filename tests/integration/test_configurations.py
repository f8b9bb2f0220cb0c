"""The system configuration (`/api/v2.0/configurations`): Harbor's keys and shapes, every
change an event, secrets never answered, and the keys Tidemark acts on acting at once."""

import pytest

from tests.integration.iam_helpers import API, anonymous, as_user, create_user

CONFIG = f"{API}/configurations"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def put(http, **values):
    response = http.put(CONFIG, json=values)
    assert response.status_code == 200, response.text
    return response


def test_get_answers_every_key_as_value_and_editable_with_harbors_defaults(http):
    body = http.get(CONFIG).json()
    assert body["auth_mode"] == {"value": "db_auth", "editable": True}
    assert body["project_creation_restriction"]["value"] == "everyone"
    assert body["read_only"]["value"] is False and body["self_registration"]["value"] is False
    assert body["token_expiration"]["value"] == 30 and body["robot_token_duration"]["value"] == 30
    assert body["robot_name_prefix"]["value"] == "robot$" and body["storage_per_project"]["value"] == -1
    assert body["audit_log_forward_endpoint"]["value"] == "" and body["ldap_scope"]["value"] == 2
    assert body["scan_all_policy"] == {"type": "none", "parameter": {"daily_time": 0}}
    for secret in ("ldap_search_password", "oidc_client_secret", "uaa_client_secret"):
        assert secret not in body


def test_a_put_changes_only_the_keys_given_and_is_one_audited_event(http, registry):
    head = registry.app.head()
    put(http, banner_message="maintenance at 6", notification_enable=False, session_timeout=90)
    assert registry.app.head() == head + 1
    body = http.get(CONFIG).json()
    assert body["banner_message"]["value"] == "maintenance at 6"
    assert body["notification_enable"]["value"] is False and body["session_timeout"]["value"] == 90
    assert body["token_expiration"]["value"] == 30
    put(http, banner_message="maintenance at 6")  # the same value again: nothing recorded
    assert registry.app.head() == head + 1
    registry.catch_up()
    logs = http.get(f"{API}/audit-logs", params={"q": "resource_type=configuration"}).json()
    assert sorted(entry["resource"] for entry in logs) == [
        'banner_message: "" -> "maintenance at 6"', "notification_enable: true -> false",
        "session_timeout: 60 -> 90"]
    assert {entry["username"] for entry in logs} == {"admin"}


def test_secrets_are_stored_sealed_never_answered_and_audited_without_their_value(http, registry):
    put(http, oidc_client_secret="s3cret-value", ldap_search_password="ldap-pass", oidc_client_id="tm")
    body = http.get(CONFIG)
    assert "s3cret-value" not in body.text and "ldap-pass" not in body.text
    assert body.json()["oidc_client_id"]["value"] == "tm"
    stored = registry.configuration.values()["oidc_client_secret"]
    assert stored.startswith("sealed:v1:")
    assert registry.secrets.open(stored, "system configuration oidc_client_secret") == "s3cret-value"
    log = list(registry.app.recorder.select_notifications(start=1, limit=100_000))
    assert not any(b"s3cret-value" in n.state or b"ldap-pass" in n.state for n in log)
    head = registry.app.head()
    put(http, oidc_client_secret="s3cret-value")  # the same secret: no change
    assert registry.app.head() == head
    put(http, oidc_client_secret="")
    registry.catch_up()
    logs = http.get(f"{API}/audit-logs", params={"q": "resource_type=configuration"}).json()
    resources = {entry["resource"] for entry in logs}
    assert {"oidc_client_secret: set", "oidc_client_secret: cleared", "ldap_search_password: set"} <= resources
    assert not any("s3cret" in r or "ldap-pass" in r for r in resources)
    assert "oidc_client_secret" not in http.get(CONFIG).json()


@pytest.mark.parametrize("body, key", [
    ({"read_only": "true"}, "read_only"),
    ({"token_expiration": 0}, "token_expiration"),
    ({"token_expiration": True}, "token_expiration"),
    ({"storage_per_project": -2}, "storage_per_project"),
    ({"project_creation_restriction": "nobody"}, "project_creation_restriction"),
    ({"auth_mode": "uaa_auth"}, "auth_mode"), ({"ldap_url": "http://directory"}, "ldap_url"),
    ({"oidc_endpoint": "ftp://idp.example"}, "oidc_endpoint"),
    ({"no_such_key": 1}, "no_such_key"),
    ({"robot_name_prefix": "bot-"}, "robot_name_prefix"),
    ({"audit_log_forward_endpoint": "not an endpoint"}, "audit_log_forward_endpoint"),
    ({"ldap_scope": 7}, "ldap_scope"),
    ({"banner_message": "a\u202eb"}, "banner_message"),
    ({"scan_all_policy": {"type": "yearly"}}, "scan_all_policy"),
])
def test_bad_values_are_refused_naming_the_key_and_record_nothing(http, registry, body, key):
    head = registry.app.head()
    response = http.put(CONFIG, json={"banner_message": "kept?", **body})
    assert response.status_code == 400, response.text
    assert key in response.json()["errors"][0]["message"]
    assert registry.app.head() == head
    assert http.get(CONFIG).json()["banner_message"]["value"] == ""


def test_a_body_that_is_not_an_object_is_refused(http):
    assert http.put(CONFIG, json=["read_only"]).status_code == 400
    assert http.put(CONFIG, content=b"{", headers={"content-type": "application/json"}).status_code == 400


def test_only_system_administrators_read_or_change_it(http):
    create_user(http, "nina")
    assert anonymous(http, "GET", CONFIG).status_code == 401
    assert anonymous(http, "PUT", CONFIG, json={"read_only": True}).status_code == 401
    assert http.get(CONFIG, headers=as_user("nina")).status_code == 403
    assert http.put(CONFIG, json={"read_only": True}, headers=as_user("nina")).status_code == 403
    assert http.get(CONFIG).json()["read_only"]["value"] is False


def test_at_shows_the_configuration_as_it_was(http, registry):
    put(http, banner_message="first")
    first = registry.app.head()
    put(http, banner_message="second", read_only=True)
    assert http.get(CONFIG, params={"at": str(first)}).json()["banner_message"]["value"] == "first"
    assert http.get(CONFIG, params={"at": str(first)}).json()["read_only"]["value"] is False
    assert http.get(CONFIG, params={"at": "1"}).json()["banner_message"]["value"] == ""
    assert http.get(CONFIG).json()["banner_message"]["value"] == "second"
    assert http.get(CONFIG, params={"at": "2000-01-01T00:00:00Z"}).json()["read_only"]["value"] is False
    assert http.get(CONFIG, params={"at": "yesterday"}).status_code == 400


ALLOWLIST = f"{API}/system/CVEAllowlist"


def test_the_system_cve_allowlist_is_replaced_shown_audited_and_readable_at_a_past_moment(http, registry):
    create_user(http, "vic")
    empty = http.get(ALLOWLIST, headers=as_user("vic")).json()
    assert empty["items"] == [] and empty["project_id"] == 0 and empty["expires_at"] is None
    body = {"items": [{"cve_id": "CVE-2019-10164"}, {"cve_id": "GHSA-xxxx-yyyy-zzzz"}], "expires_at": 4102444800}
    assert http.put(ALLOWLIST, json=body, headers=as_user("vic")).status_code == 403
    assert http.put(ALLOWLIST, json=body).status_code == 200
    first = registry.app.head()
    shown = http.get(ALLOWLIST, headers=as_user("vic")).json()
    assert shown["items"] == body["items"] and shown["expires_at"] == 4102444800
    assert shown["update_time"] != "0001-01-01T00:00:00.000Z"
    assert http.put(ALLOWLIST, json={**shown, "items": []}).status_code == 200
    assert http.get(ALLOWLIST).json()["items"] == []
    assert "cve_allowlist" not in http.get(CONFIG).json()
    head = registry.app.head()
    for bad in ({"items": [{"cve_id": "CVE 1"}]}, {"items": "CVE-1"}, {"expires_at": "soon"},
                {"items": [{"cve_id": "CVE-1"}, {"cve_id": "CVE-1"}]}):
        assert http.put(ALLOWLIST, json=bad).status_code == 400, bad
    assert http.put(CONFIG, json={"cve_allowlist": body}).status_code == 400
    assert registry.app.head() == head
    registry.catch_up()
    logs = http.get(f"{API}/audit-logs", params={"q": "resource_type=configuration"}).json()
    assert any(entry["resource"].startswith("cve_allowlist: ") for entry in logs)
    assert registry.configuration.values(first)["cve_allowlist"]["items"] == body["items"]


def test_configuration_secrets_rotate_with_the_secrets_key(settings, backend):
    if backend != "sqlite":
        pytest.skip("the key commands run on the embedded default here (test_webhook_secrets.py too)")
    from tests.integration.keys_helpers import running, tidemark

    data = settings.data_path
    with running(settings) as (registry, client, _):
        assert client.put(CONFIG, json={"oidc_client_secret": "rotate-me-77"}).status_code == 200
        old = registry.secrets.keyring().current
    assert tidemark(data, "keys", "add-secrets-key").returncode == 0
    refused = tidemark(data, "keys", "retire-secrets-key", old)
    assert refused.returncode == 2 and "1 current secrets are sealed" in refused.stderr
    assert tidemark(data, "keys", "reseal").returncode == 0
    assert tidemark(data, "keys", "retire-secrets-key", old).returncode == 0
    with running(settings) as (registry, client, _):
        stored = registry.configuration.values()["oidc_client_secret"]
        assert registry.secrets.open(stored, "system configuration oidc_client_secret") == "rotate-me-77"
        assert "rotate-me-77" not in client.get(CONFIG).text
    assert "rotate-me-77" not in tidemark(data, "events", "export").stdout


def test_systeminfo_shows_the_configuration_clients_read_before_they_act(http):
    before = http.get(f"{API}/systeminfo").json()
    assert (before["read_only"], before["self_registration"], before["project_creation_restriction"]) == (
        False, False, "everyone")
    put(http, read_only=True, self_registration=True, project_creation_restriction="adminonly",
        banner_message="maintenance at noon")
    after = http.get(f"{API}/systeminfo").json()
    assert (after["read_only"], after["self_registration"], after["project_creation_restriction"],
            after["banner_message"]) == (True, True, "adminonly", "maintenance at noon")
