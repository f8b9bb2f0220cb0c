"""Project metadata and the CVE allowlist through Harbor's REST API, on SQLite and PostgreSQL: a
Terraform-like round trip shows no drift, PUT merges, each key is checked, `/metadatas` CRUD,
who may read and change them, and `at=` on the project GET."""

import pytest

from domain.iam.roles import DEVELOPER, GUEST, MAINTAINER, PROJECT_ADMIN
from tests.integration.conftest import basic
from tests.integration.iam_helpers import (
    IamTests, add_member, anonymous, as_user, create_project, create_user, robot_body)

API = "/api/v2.0"
P = f"{API}/projects/tf"
FULL = {"public": "false", "auto_scan": "true", "auto_sbom_generation": "false", "prevent_vul": "true",
        "severity": "high", "enable_content_trust": "false", "enable_content_trust_cosign": "true",
        "reuse_sys_cve_allowlist": "false", "proxy_speed_kb": "-1", "max_upstream_conn": "10",
        "proxy_cache_local_on_not_found": "false", "proxy_referrer_api": "true",
        "proxy_cache_filter_pattern": "library/**", "proxy_cache_filter_kind": "doublestar"}
ALLOWLIST = {"items": [{"cve_id": "CVE-2019-10164"}, {"cve_id": "CVE-2021-44228"}], "expires_at": 1900000000}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request):
    return request.param


def message(response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    return response.json()["errors"][0]["message"]


def create_full(http) -> None:
    response = http.post(f"{API}/projects", json={"project_name": "tf", "metadata": FULL,
                                                  "cve_allowlist": ALLOWLIST})
    assert response.status_code == 201, response.text


def test_a_terraform_like_round_trip_shows_no_change(http, registry):
    create_full(http)
    first = http.get(P).json()
    assert first["metadata"] == FULL
    assert [i["cve_id"] for i in first["cve_allowlist"]["items"]] == ["CVE-2019-10164", "CVE-2021-44228"]
    assert first["cve_allowlist"]["expires_at"] == 1900000000
    assert first["cve_allowlist"]["project_id"] == first["project_id"]
    head = registry.app.head()
    response = http.put(P, json=first)  # the whole answer back, as a provider would send its state
    assert response.status_code == 200, response.text
    assert http.get(P).json() == first
    assert registry.app.head() == head  # nothing changed, nothing recorded


def test_put_merges_keys_as_harbor_does(http):
    create_full(http)
    assert http.put(P, json={"metadata": {"auto_scan": "false"}}).status_code == 200
    assert http.get(P).json()["metadata"] == {**FULL, "auto_scan": "false"}
    assert http.put(P, json={"metadata": {"public": "true"}}).status_code == 200
    body = http.get(P).json()
    assert body["metadata"] == {**FULL, "auto_scan": "false", "public": "true"}
    assert body["cve_allowlist"]["items"] == ALLOWLIST["items"]  # not sent: kept
    assert http.put(P, json={"cve_allowlist": {"items": []}}).status_code == 200
    body = http.get(P).json()
    assert body["cve_allowlist"]["items"] == [] and body["cve_allowlist"]["expires_at"] is None


def test_the_list_shows_the_same_metadata_and_allowlist(http):
    create_full(http)
    listed = [p for p in http.get(f"{API}/projects").json() if p["name"] == "tf"][0]
    single = http.get(P).json()
    assert listed["metadata"] == single["metadata"] and listed["cve_allowlist"] == single["cve_allowlist"]


def test_a_project_without_an_allowlist_shows_an_empty_one(http):
    create_project(http, "bare")
    allowlist = http.get(f"{API}/projects/bare").json()["cve_allowlist"]
    assert allowlist["items"] == [] and allowlist["expires_at"] is None and allowlist["project_id"] > 0


@pytest.mark.parametrize("metadata, says", [
    ({"auto_scan": "yes"}, "auto_scan"), ({"public": "1"}, "public"), ({"severity": "urgent"}, "severity"),
    ({"proxy_speed_kb": "-2"}, "proxy_speed_kb"), ({"proxy_speed_kb": "fast"}, "proxy_speed_kb"),
    ({"max_upstream_conn": "1e3"}, "max_upstream_conn"), ({"prevent_vul": True}, "prevent_vul"),
    ({"proxy_cache_filter_kind": "glob"}, "proxy_cache_filter_kind"),
    ({"enable_content_trust": "TRUE"}, "enable_content_trust"), ({"colour": "blue"}, "colour"),
    ({"retention_id": "7"}, "retention_id"),
])
def test_bad_metadata_is_400_naming_the_key_on_create_and_update_and_records_nothing(http, registry,
                                                                                      metadata, says):
    create_project(http, "tf")
    head = registry.app.head()
    assert says in message(http.post(f"{API}/projects", json={"project_name": "other", "metadata": metadata}))
    assert http.get(f"{API}/projects/other").status_code == 404
    assert says in message(http.put(P, json={"metadata": {"auto_scan": "true", **metadata}}))
    assert registry.app.head() == head
    assert http.get(P).json()["metadata"] == {"public": "false"}


@pytest.mark.parametrize("allowlist, says", [
    ({"items": [{"cve_id": "not-a-cve"}]}, "invalid CVE id"),
    ({"items": [{"cve_id": "CVE-2019-1"}]}, "invalid CVE id"),
    ({"items": [{"cve_id": "CVE-2019-10164"}, {"cve_id": "CVE-2019-10164"}]}, "duplicate"),
    ({"items": [], "expires_at": -1}, "expires_at"),
    ({"items": [], "expires_at": "soon"}, "expires_at"),
])
def test_bad_allowlists_are_400_and_record_nothing(http, registry, allowlist, says):
    create_full(http)
    head = registry.app.head()
    assert says in message(http.put(P, json={"metadata": {"auto_scan": "false"}, "cve_allowlist": allowlist}))
    assert registry.app.head() == head
    assert http.get(P).json()["metadata"]["auto_scan"] == "true"


def test_metadatas_crud_in_harbors_shapes(http):
    create_project(http, "tf")
    assert http.get(f"{P}/metadatas").json() == {"public": "false"}
    assert http.post(f"{P}/metadatas", json={"auto_scan": "true"}).status_code == 200
    assert http.get(f"{P}/metadatas/auto_scan").json() == {"auto_scan": "true"}
    assert "already set" in message(http.post(f"{P}/metadatas", json={"auto_scan": "false"}), 409)
    assert "already set" in message(http.post(f"{P}/metadatas", json={"public": "true"}), 409)
    assert http.put(f"{P}/metadatas/auto_scan", json={"auto_scan": "false"}).status_code == 200
    assert http.put(f"{P}/metadatas/severity", json={"severity": "Critical"}).status_code == 200
    assert http.get(f"{P}/metadatas").json() == {"public": "false", "auto_scan": "false", "severity": "critical"}
    assert http.get(P).json()["metadata"] == http.get(f"{P}/metadatas").json()
    response = http.delete(f"{P}/metadatas/auto_scan")
    assert response.status_code == 200 and response.text == ""
    assert http.get(f"{P}/metadatas/auto_scan").status_code == 404
    assert http.delete(f"{P}/metadatas/auto_scan").status_code == 404
    assert http.put(f"{P}/metadatas/public", json={"public": "true"}).status_code == 200
    assert http.get(P).json()["metadata"]["public"] == "true"
    assert anonymous(http, "GET", f"{API}/projects/tf/repositories").status_code == 200  # it acts


@pytest.mark.parametrize("method, path, body, says", [
    ("POST", "metadatas", {"colour": "blue"}, "colour"),
    ("POST", "metadatas", {}, "map of metadata keys"),
    ("POST", "metadatas", ["auto_scan"], "invalid request"),
    ("POST", "metadatas", {"auto_scan": 1}, "auto_scan"),
    ("PUT", "metadatas/auto_scan", {"severity": "low"}, "exactly the key 'auto_scan'"),
    ("PUT", "metadatas/auto_scan", {"auto_scan": "true", "severity": "low"}, "exactly the key"),
    ("PUT", "metadatas/retention_id", {"retention_id": "1"}, "retention"),
    ("DELETE", "metadatas/colour", None, "colour"),
    ("DELETE", "metadatas/retention_id", None, "retention"),
])
def test_bad_metadatas_requests_are_400_naming_what_is_wrong(http, registry, method, path, body, says):
    create_project(http, "tf")
    head = registry.app.head()
    assert says in message(http.request(method, f"{P}/{path}", json=body))
    assert registry.app.head() == head


def test_retention_id_comes_from_the_policy_and_survives_a_round_trip(http, registry):
    create_project(http, "tf")
    project_id = http.get(P).json()["project_id"]
    selector = {"kind": "doublestar", "decoration": "matches", "pattern": "**", "extras": ""}
    response = http.post(f"{API}/retentions", json={
        "algorithm": "or", "trigger": {"kind": "Schedule", "settings": {"cron": ""}},
        "scope": {"level": "project", "ref": project_id},
        "rules": [{"disabled": False, "action": "retain", "template": "always", "params": {},
                   "tag_selectors": [selector],
                   "scope_selectors": {"repository": [{**selector, "decoration": "repoMatches"}]}}]})
    assert response.status_code == 201, response.text
    policy_id = response.headers["location"].rsplit("/", 1)[1]
    body = http.get(P).json()
    assert body["metadata"]["retention_id"] == policy_id
    assert http.get(f"{P}/metadatas/retention_id").json() == {"retention_id": policy_id}
    head = registry.app.head()
    assert http.put(P, json=body).status_code == 200 and registry.app.head() == head
    assert "retention" in message(http.put(P, json={"metadata": {"retention_id": str(int(policy_id) + 1)}}))


def test_at_shows_the_metadata_and_allowlist_as_they_were(http, registry):
    create_project(http, "tf")
    created = registry.app.head()
    http.put(P, json={"metadata": {"auto_scan": "true", "public": "true"},
                      "cve_allowlist": {"items": [{"cve_id": "CVE-2019-10164"}]}})
    middle = registry.app.head()
    http.put(P, json={"metadata": {"severity": "low"}, "cve_allowlist": {"items": []}})
    http.delete(f"{P}/metadatas/auto_scan")
    then = http.get(P, params={"at": str(created)}).json()
    assert then["metadata"] == {"public": "false"} and then["cve_allowlist"]["items"] == []
    then = http.get(P, params={"at": str(middle)}).json()
    assert then["metadata"] == {"public": "true", "auto_scan": "true"}
    assert then["cve_allowlist"]["items"] == [{"cve_id": "CVE-2019-10164"}]
    assert http.get(P).json()["metadata"] == {"public": "true", "severity": "low"}
    before = http.get(P).json()["project_id"] - 1
    assert http.get(P, params={"at": str(before)}).status_code == 404  # before it existed
    assert http.get(P, params={"at": "soon"}).status_code == 400


def test_a_recreated_project_starts_without_the_old_metadata(http):
    create_full(http)
    assert http.delete(P).status_code == 200
    create_project(http, "tf")
    body = http.get(P).json()
    assert body["metadata"] == {"public": "false"} and body["cve_allowlist"]["items"] == []


def test_views_rebuilt_equal_the_live_one(http, registry):
    from projections.projector import checksum
    from projections.rebuild import rebuild

    create_full(http)
    http.put(P, json={"metadata": {"severity": "low"}, "cve_allowlist": {"items": []}})
    http.delete(P)
    create_project(http, "tf", public=True)
    registry.catch_up()
    projector = [p for p in registry.projectors if p.name == "project_settings"][0]
    live = checksum(registry.db, projector.view.p, projector.view.tables)
    assert rebuild(registry.app, registry.db, type(projector.view), projector) == live


class TestWhoMayReadAndChangeMetadata(IamTests):
    @pytest.fixture
    def team(self, http):
        create_project(http, "tf")
        http.put(P, json={"metadata": {"auto_scan": "true"}})
        for name, role in (("gary", GUEST), ("dave", DEVELOPER), ("mia", MAINTAINER), ("pam", PROJECT_ADMIN)):
            create_user(http, name)
            add_member(http, "tf", name, role)
        create_user(http, "nora")
        response = http.post(f"{API}/robots", json=robot_body("tf", access=(("repository", "pull"),
                                                                             ("artifact", "read"))))
        assert response.status_code == 201, response.text
        return {**{name: as_user(name) for name in ("gary", "dave", "mia", "pam", "nora")},
                "robot": {"authorization": basic(response.json()["name"], response.json()["secret"])}}

    @pytest.mark.parametrize("who, reads, writes", [
        ("gary", 200, 403), ("dave", 200, 403), ("mia", 200, 403), ("pam", 200, 200),
        ("nora", 403, 403), ("robot", 403, 403),
    ])
    def test_members_read_and_project_admins_change(self, http, registry, team, who, reads, writes):
        headers = team[who]
        assert http.get(f"{P}/metadatas", headers=headers).status_code == reads
        assert http.get(f"{P}/metadatas/auto_scan", headers=headers).status_code == reads
        head = registry.app.head()
        calls = [("POST", f"{P}/metadatas", {"prevent_vul": "true"}),
                 ("PUT", f"{P}/metadatas/auto_scan", {"auto_scan": "false"}),
                 ("PUT", P, {"metadata": {"severity": "low"}}),
                 ("DELETE", f"{P}/metadatas/auto_scan", None)]
        assert [http.request(m, url, json=body, headers=headers).status_code for m, url, body in calls] == \
            [writes] * len(calls)
        if writes != 200:
            assert registry.app.head() == head

    def test_anonymous_callers_get_401_and_a_missing_project_404(self, http, team):
        assert anonymous(http, "GET", f"{P}/metadatas").status_code == 401
        assert anonymous(http, "PUT", f"{P}/metadatas/auto_scan", json={"auto_scan": "false"}).status_code == 401
        assert http.get(f"{API}/projects/nothere/metadatas", headers=team["pam"]).status_code == 404
        assert http.get(f"{API}/projects/nothere/metadatas/auto_scan").status_code == 404


class TestPrivateProjectAnswersAsHarbor(IamTests):
    def test_a_non_member_gets_403_anonymous_401_and_a_missing_project_404(self, http):
        create_project(http, "secret")
        create_project(http, "open", public=True)
        create_user(http, "nora")
        nora = as_user("nora")
        for path in ("secret", "secret/members", "secret/summary", "secret/repositories",
                     "secret/immutabletagrules", "secret/webhook/policies", "secret/logs"):
            assert http.get(f"{API}/projects/{path}", headers=nora).status_code == 403, path
            assert anonymous(http, "GET", f"{API}/projects/{path}").status_code == 401, path
        assert http.get(f"{API}/projects/secret/repositories/app", headers=nora).status_code == 403
        assert http.get(f"{API}/projects/nothere", headers=nora).status_code == 404
        assert http.get(f"{API}/projects/nothere/repositories/app", headers=nora).status_code == 404
        assert anonymous(http, "GET", f"{API}/projects/nothere").status_code == 404
        assert http.get(f"{API}/projects/open", headers=nora).status_code == 200
        # what does not exist inside a project the caller may read stays 404
        assert http.get(f"{API}/projects/open/repositories/nothing", headers=nora).status_code == 404
