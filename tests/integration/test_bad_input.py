"""Bad input answers 4xx in the protocol's own error form, never 500, and stores nothing.

Each case here answered 500 before: numbers past 64 bits reached SQLite, digits that
`str.isdigit` accepts reached `int()`, an instant before year 1 in UTC reached datetime
arithmetic, and JSON nested 1,000 deep reached a recursive decoder."""

import base64
import json

import pytest

from tests.integration.fuzz_app import RawCaller
from tests.integration.fuzz_values import deep_json

BIG = str(2**64)
ARTIFACTS = "/api/v2.0/projects/library/repositories/app/artifacts"


@pytest.fixture
def backend():
    return "sqlite"


@pytest.fixture
def raw(http):
    """Requests with header bytes as sent (a client library would re-encode `\xb2`)."""
    with RawCaller(http.app) as call:
        yield call


def harbor_error(response) -> str:
    errors = response.json()["errors"]
    assert response.status_code == 400 and len(errors) == 1 and errors[0]["code"] == "BAD_REQUEST"
    return errors[0]["message"]


@pytest.mark.parametrize("path", [
    f"/api/v2.0/users/{BIG}", f"/api/v2.0/users/-{BIG}", f"/api/v2.0/projects/{BIG}",
    f"/api/v2.0/robots/{BIG}", f"/api/v2.0/labels/{BIG}", f"/api/v2.0/quotas/{BIG}",
    f"/api/v2.0/retentions/{BIG}", f"/api/v2.0/projects?page={BIG}", f"/api/v2.0/users?page={BIG}",
    f"/api/v2.0/system/gc?page={BIG}", f"{ARTIFACTS}?page={BIG}",
    "/api/v2.0/audit-logs?cursor=" + base64.urlsafe_b64encode(BIG.encode()).decode(),
    f"/api/v2.0/events?after={BIG}",
])
def test_numbers_beyond_64_bits_in_ids_pages_cursors_and_positions_answer_400(http, path):
    assert harbor_error(http.get(path))


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_numbers_beyond_64_bits_answer_400_on_postgresql_too(http, backend):
    # psycopg sends them as numeric; comparing with a bigint column raises out of range.
    for path in (f"/api/v2.0/users/{BIG}", f"/api/v2.0/projects?page={BIG}", f"/api/v2.0/labels/-{BIG}",
                 f"/api/v2.0/events?after={BIG}"):
        assert harbor_error(http.get(path))


@pytest.mark.parametrize("path, field", [
    ("/api/v2.0/events?after=²", "after"),
    ("/api/v2.0/events?after=١٢", "after"),
    ("/api/v2.0/projects/library/repositories?at=²", "at"),
    ("/api/v2.0/projects/library/changes?from=²", "from"),
    ("/api/v2.0/projects/library/changes?to=²", "to"),
    ("/api/v2.0/audit-logs?cursor=" + base64.urlsafe_b64encode(" 12".encode()).decode(), "cursor"),
])
def test_digits_outside_ascii_are_not_numbers(http, path, field):
    assert field in harbor_error(http.get(path))


def test_an_instant_before_year_one_in_utc_answers_400(http):
    for at in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        response = http.get("/api/v2.0/projects/library/repositories", params={"at": at})
        assert "outside the years 1 to 9999" in harbor_error(response)


def test_event_stream_refuses_a_bad_last_event_id_before_streaming(raw):
    from tests.integration.conftest import ADMIN_PASSWORD, basic

    for value in (b"\xb2", BIG.encode(), b"9223372036854775807"):
        status, body = raw("GET", b"/api/v2.0/events/stream", headers=[
            (b"authorization", basic("admin", ADMIN_PASSWORD).encode()), (b"last-event-id", value)])
        assert status == 400 and b"Last-Event-ID must be an event position" in body


def test_oci_n_and_tidemark_as_of_with_unicode_digits_answer_oci_errors(http, oci, raw):
    from tests.integration.conftest import ADMIN_PASSWORD, basic

    oci.push_image("library/app", "v1")
    for path in ("/v2/_catalog?n=²", "/v2/library/app/tags/list?n=²", f"/v2/_catalog?n={BIG}"):
        response = http.get(path)
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "MANIFEST_INVALID"
    status, body = raw("GET", b"/v2/library/app/manifests/v1", headers=[
        (b"authorization", basic("admin", ADMIN_PASSWORD).encode()), (b"tidemark-as-of", b"\xb2")])
    assert status == 400 and b'"code":"BAD_REQUEST"' in body


def test_a_manifest_nested_1000_deep_is_manifest_invalid_and_not_stored(http, oci, registry):
    manifest = oci.image_manifest("library/app")
    manifest["layers"][0]["platform"] = "DEEP"
    head = registry.app.head()
    body = json.dumps(manifest).encode().replace(b'"DEEP"', deep_json(1000, b"{"))
    response = http.put("/v2/library/app/manifests/deep", content=body,
                        headers={"content-type": "application/vnd.oci.image.manifest.v1+json"})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "MANIFEST_INVALID" and "nested deeper than 64" in error["message"]
    assert registry.app.head() == head
    assert http.get("/v2/library/app/manifests/deep").status_code == 404


@pytest.mark.parametrize("method, path, body", [
    ("POST", "/api/v2.0/projects", b'{"project_name":"deep","metadata":' + deep_json(1000, b"{") + b"}"),
    ("POST", "/api/v2.0/users", deep_json(1000)),
    ("PUT", "/api/v2.0/quotas/1", b'{"hard":{"storage":1180591620717411303424}}'),
    ("POST", "/api/v2.0/labels", b'{"name":"x","scope":"p","project_id":-9223372036854775809}'),
])
def test_rest_bodies_too_deep_or_with_huge_integers_answer_400_and_store_nothing(http, registry, method,
                                                                                  path, body):
    head = registry.app.head()
    response = http.request(method, path, content=body, headers={"content-type": "application/json"})
    message = harbor_error(response)
    assert "nested deeper than 64" in message or "outside the 64-bit range" in message
    assert registry.app.head() == head


@pytest.mark.parametrize("label_id", ["abc", None, 1.5, [1]])
def test_an_artifact_label_id_that_is_not_a_whole_number_answers_400(http, oci, registry, label_id):
    digest, _ = oci.push_image("library/app", "v1")
    head = registry.app.head()
    response = http.post(f"{ARTIFACTS}/{digest}/labels", json={"id": label_id})
    assert "invalid request" in harbor_error(response)
    assert registry.app.head() == head


def test_a_project_key_of_unicode_digits_is_a_name_not_an_id(http):
    response = http.get("/api/v2.0/projects/²")
    assert response.status_code == 404 and response.json()["errors"][0]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("path, body", [
    ("/api/v2.0/system/gc/schedule", {"schedule": {"type": "Custom", "cron": "0 0 0 31 2 *"}}),
    ("/api/v2.0/system/gc/schedule", {"schedule": {"type": "Custom", "cron": "0 0 30 2 *"}}),
])
def test_a_cron_that_never_fires_is_refused_so_the_schedule_stays_readable(http, path, body):
    assert "not a cron expression that fires" in harbor_error(http.post(path, json=body))
    assert http.get(path).status_code == 200
