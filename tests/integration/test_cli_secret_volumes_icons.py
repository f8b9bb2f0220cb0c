"""Harbor details (issue 13, section 5): a user's CLI secret, the blob store's volume, and the
artifact type icons."""

import base64
import shutil

import pytest

from read_api.rest_icons import ICONS
from tests.integration.conftest import basic

API = "/api/v2.0"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def _user(http, name: str) -> int:
    created = http.post(f"{API}/users", json={"username": name, "password": f"{name.title()}-Passw0rd",
                                              "email": f"{name}@example.com"})
    assert created.status_code == 201, created.text
    return int(created.headers["location"].rsplit("/", 1)[1])


def test_a_cli_secret_is_refused_with_412_for_a_database_user_and_nothing_is_recorded(http, registry):
    dave = _user(http, "dave")
    before = registry.app.head()
    own = http.put(f"{API}/users/{dave}/cli_secret", json={"secret": "Cli-Secret-9x"},
                   headers={"authorization": basic("dave", "Dave-Passw0rd")})
    assert own.status_code == 412 and own.json()["errors"][0]["code"] == "PRECONDITION"
    assert "oidc_auth" in own.json()["errors"][0]["message"]
    assert http.put(f"{API}/users/{dave}/cli_secret", json={"secret": "Cli-Secret-9x"}).status_code == 412
    assert registry.app.head() == before
    # the old password still signs in; the refused secret does not
    assert http.get(f"{API}/users/current", headers={"authorization": basic("dave", "Dave-Passw0rd")}).status_code == 200
    assert http.get(f"{API}/users/current", headers={"authorization": basic("dave", "Cli-Secret-9x")}).status_code == 401


def test_only_the_user_or_an_administrator_may_set_a_cli_secret(http):
    dave, _ = _user(http, "dave"), _user(http, "erin")
    other = http.put(f"{API}/users/{dave}/cli_secret", json={"secret": "Cli-Secret-9x"},
                     headers={"authorization": basic("erin", "Erin-Passw0rd")})
    assert other.status_code == 403
    assert http.put(f"{API}/users/{dave}/cli_secret", json={"secret": "x"},
                    headers={"authorization": ""}).status_code == 401
    assert http.put(f"{API}/users/999999/cli_secret", json={"secret": "Cli-Secret-9x"}).status_code == 404
    assert http.put(f"{API}/users/{dave}/cli_secret", json={"nosecret": 1}).status_code == 400


def test_volumes_report_the_disk_the_blobs_are_on(http, settings):
    answer = http.get(f"{API}/systeminfo/volumes")
    assert answer.status_code == 200
    [storage] = answer.json()["storage"]
    disk = shutil.disk_usage(settings.data_path)
    assert storage["total"] == disk.total and 0 <= storage["free"] <= storage["total"]
    _user(http, "dave")
    assert http.get(f"{API}/systeminfo/volumes",
                    headers={"authorization": basic("dave", "Dave-Passw0rd")}).status_code == 403


def test_an_artifact_names_its_icon_and_the_icon_is_served_to_anyone(http, oci):
    digest, _ = oci.push_image("library/app", "v1")
    artifact = http.get(f"{API}/projects/library/repositories/app/artifacts/{digest}").json()
    assert artifact["icon"] == ICONS["image"]
    icon = http.get(f"{API}/icons/{artifact['icon']}", headers={"authorization": ""})
    assert icon.status_code == 200 and icon.json()["content-type"] == "image/svg+xml"
    assert base64.b64decode(icon.json()["content"]).startswith(b"<svg")
    missing = http.get(f"{API}/icons/sha256:" + "0" * 64)
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "NOT_FOUND"
    assert http.get(f"{API}/icons/not-a-digest").status_code == 404
    assert len(set(ICONS.values())) == len(ICONS)


@pytest.mark.parametrize("backend", ["s3"])
def test_volumes_on_s3_list_no_volume_rather_than_a_made_up_size(http):
    assert http.get(f"{API}/systeminfo/volumes").json() == {"storage": []}
