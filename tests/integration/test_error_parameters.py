"""Errors name the parameter that was wrong (issue 13, section 5): a moment given as `from`,
`to`, `after`, `Last-Event-ID` or a webhook replay's `from` is blamed under that name."""

import pytest

API = "/api/v2.0"
CHANGES = f"{API}/projects/library/changes"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def message(response) -> str:
    assert response.status_code == 400, response.text
    return response.json()["errors"][0]["message"]


def test_changes_blame_to_and_from_by_name(http, oci):
    oci.push_image("library/app", "v1")
    beyond = str(http.get(f"{API}/events?limit=10000").json()[-1]["position"] + 1000)
    assert message(http.get(CHANGES, params={"to": beyond})).startswith("to is beyond the newest event")
    assert message(http.get(CHANGES, params={"from": beyond})).startswith("from is beyond")
    assert message(http.get(CHANGES, params={"to": "yesterday"})).startswith("to must be an RFC 3339")
    assert message(http.get(CHANGES, params={"from": "2020-01-01T00:00:00"})).startswith("from needs a time zone")
    assert message(http.get(CHANGES, params={"to": "2999-01-01T00:00:00Z"})) == "to is in the future"
    assert message(http.get(CHANGES, params={"from": "3", "to": "2"})) == "to is before from"


def test_a_moment_in_at_is_still_blamed_as_at(http):
    response = http.get(f"{API}/projects/library/repositories", params={"at": "99999999"})
    assert message(response) == "at is beyond the newest event"


def test_the_event_feed_blames_after_unless_a_last_event_id_was_sent(http):
    assert "after" in message(http.get(f"{API}/events/stream", params={"after": "x"}))
    assert "Last-Event-ID" in message(http.get(f"{API}/events/stream", headers={"last-event-id": "x"}))


def test_a_webhook_replay_blames_from(http):
    created = http.post(f"{API}/projects/library/webhook/policies", json={
        "name": "w", "event_types": ["PUSH_ARTIFACT"],
        "targets": [{"type": "http", "address": "http://127.0.0.1:9/hook"}]})
    assert created.status_code == 201, created.text
    policy = created.headers["location"].rsplit("/", 1)[1]
    replay = http.post(f"{API}/projects/library/webhook/policies/{policy}/replay", json={"from": "soon"})
    text = message(replay)
    assert text.startswith("from must be an RFC 3339") and " at " not in text
