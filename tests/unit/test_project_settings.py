"""A project's metadata and CVE allowlist on the aggregate and its commands, in memory: each
key's rule, merges, what is recorded, and what a refused command leaves."""

import pytest

from commands.application import RegistryApplication
from commands.artifacts.handlers import RegistryCommands
from commands.artifacts.messages import CreateProject
from commands.iam.handlers import IamCommands
from commands.iam.messages import DeleteProject
from commands.project_settings import Allowlist, ConfigureProject, ProjectSettingsCommands, RemoveProjectMetadata
from domain.base import Actor
from domain.errors import BadRequest, Conflict, NotFound
from domain.project import Project, project_id
from domain.project_settings import SETTABLE_KEYS, check_allowlist, check_value

ALICE = Actor(name="alice")


class NoCredentials:
    def set(self, *args) -> None:
        pass

    def delete(self, *args) -> None:
        pass


@pytest.fixture
def app():
    return RegistryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


@pytest.fixture
def settings(app):
    RegistryCommands(app).create_project(CreateProject("p", False, ALICE))
    return ProjectSettingsCommands(app)


def project(app) -> Project:
    return app.find(project_id("p"), Project)


@pytest.mark.parametrize("key, value, stored", [
    ("auto_scan", "true", "true"), ("prevent_vul", "false", "false"), ("severity", "High", "high"),
    ("severity", "none", "none"), ("proxy_speed_kb", "-1", "-1"), ("proxy_speed_kb", "0100", "100"),
    ("max_upstream_conn", "20", "20"), ("proxy_cache_filter_kind", "regex", "regex"),
    ("proxy_cache_filter_pattern", "library/**", "library/**"),
])
def test_good_values_are_stored_normalized(key, value, stored):
    assert check_value(key, value) == stored


@pytest.mark.parametrize("key, value, says", [
    ("auto_scan", "yes", 'must be "true" or "false"'), ("public", "True", 'must be "true" or "false"'),
    ("enable_content_trust", True, "must be a string"), ("severity", "urgent", "must be one of"),
    ("proxy_speed_kb", "-2", "-1 (no limit) or more"), ("proxy_speed_kb", "1.5", "integer"),
    ("proxy_speed_kb", "99999999999", "integer"), ("proxy_cache_filter_kind", "glob", "doublestar or regex"),
    ("proxy_cache_filter_pattern", "a\nb", "printable"), ("retention_id", "3", "retention policy"),
    ("colour", "blue", "unknown metadata key 'colour'"),
])
def test_bad_values_are_400_naming_the_key(key, value, says):
    with pytest.raises(BadRequest) as refused:
        check_value(key, value)
    assert says in refused.value.message and key in refused.value.message


def test_every_key_of_harbors_metadata_but_retention_id_is_settable():
    harbor = {"public", "enable_content_trust", "enable_content_trust_cosign", "prevent_vul", "severity",
              "auto_scan", "auto_sbom_generation", "reuse_sys_cve_allowlist", "retention_id", "proxy_speed_kb",
              "max_upstream_conn", "proxy_cache_local_on_not_found", "proxy_referrer_api",
              "proxy_cache_filter_pattern", "proxy_cache_filter_kind"}
    assert set(SETTABLE_KEYS) == harbor - {"retention_id"}


def test_configure_merges_and_records_only_what_changes(app, settings):
    settings.configure(ConfigureProject("p", {"auto_scan": "true", "severity": "low"}, ALICE))
    head = app.head()
    settings.configure(ConfigureProject("p", {"prevent_vul": "true", "auto_scan": "true"}, ALICE))
    assert project(app).metadata == {"auto_scan": "true", "severity": "low", "prevent_vul": "true"}
    assert app.head() == head + 1  # one event: auto_scan did not change
    settings.configure(ConfigureProject("p", {"prevent_vul": "true", "public": "false"}, ALICE))
    assert app.head() == head + 1


def test_public_goes_through_the_visibility_event(app, settings):
    settings.configure(ConfigureProject("p", {"public": "true", "auto_scan": "true"}, ALICE))
    assert project(app).public is True and "public" not in project(app).metadata


def test_a_bad_key_in_a_configure_records_nothing(app, settings):
    head = app.head()
    with pytest.raises(BadRequest):
        settings.configure(ConfigureProject("p", {"public": "true", "severity": "nope"}, ALICE))
    with pytest.raises(BadRequest):
        settings.configure(ConfigureProject("p", {"auto_scan": "true"}, ALICE,
                                            Allowlist([{"cve_id": "x"}])))
    assert app.head() == head and project(app).public is False


def test_a_regex_filter_pattern_must_compile():
    app = RegistryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    RegistryCommands(app).create_project(CreateProject("p", False, ALICE))
    settings = ProjectSettingsCommands(app)
    with pytest.raises(BadRequest, match="not a regular expression"):
        settings.configure(ConfigureProject("p", {"proxy_cache_filter_kind": "regex",
                                                  "proxy_cache_filter_pattern": "(["}, ALICE))
    settings.configure(ConfigureProject("p", {"proxy_cache_filter_pattern": "(["}, ALICE))  # doublestar
    with pytest.raises(BadRequest, match="not a regular expression"):
        settings.configure(ConfigureProject("p", {"proxy_cache_filter_kind": "regex"}, ALICE))


def test_adding_a_key_that_is_set_is_a_conflict(app, settings):
    settings.configure(ConfigureProject("p", {"auto_scan": "false"}, ALICE, adding=True))
    for key in ("auto_scan", "public"):
        with pytest.raises(Conflict):
            settings.configure(ConfigureProject("p", {key: "true"}, ALICE, adding=True))
    assert project(app).metadata == {"auto_scan": "false"}


def test_removing_a_key(app, settings):
    settings.configure(ConfigureProject("p", {"auto_scan": "true", "public": "true"}, ALICE))
    settings.remove_metadata(RemoveProjectMetadata("p", "auto_scan", ALICE))
    assert project(app).metadata == {}
    with pytest.raises(NotFound):
        settings.remove_metadata(RemoveProjectMetadata("p", "auto_scan", ALICE))
    with pytest.raises(BadRequest):
        settings.remove_metadata(RemoveProjectMetadata("p", "retention_id", ALICE))
    settings.remove_metadata(RemoveProjectMetadata("p", "public", ALICE))  # public cannot go: private
    assert project(app).public is False


@pytest.mark.parametrize("items, expires_at, says", [
    (["CVE-2019-10164", "cve-2020-1234"], None, "invalid CVE id"),
    (["CVE-19-1"], None, "invalid CVE id"), ([42], None, "invalid CVE id"),
    (["CVE-2019-10164", "CVE-2019-10164"], None, "duplicate"),
    ([], "tomorrow", "expires_at"), ([], -5, "expires_at"), ([], True, "expires_at"), ([], 1.5, "expires_at"),
])
def test_bad_allowlists_are_400(items, expires_at, says):
    with pytest.raises(BadRequest, match=says):
        check_allowlist(items, expires_at)


def test_the_allowlist_is_replaced_whole_and_not_recorded_again_unchanged(app, settings):
    settings.configure(ConfigureProject("p", {}, ALICE, Allowlist(["CVE-2019-10164", "CVE-2021-44228"], 1900000000)))
    assert project(app).allowlist == (["CVE-2019-10164", "CVE-2021-44228"], 1900000000)
    head = app.head()
    settings.configure(ConfigureProject("p", {}, ALICE, Allowlist(["CVE-2019-10164", "CVE-2021-44228"], 1900000000)))
    assert app.head() == head
    settings.configure(ConfigureProject("p", {}, ALICE, Allowlist([], None)))
    assert project(app).allowlist == ([], None)


def test_create_stores_metadata_and_allowlist_in_the_same_save_and_a_recreated_project_starts_bare(app):
    commands = RegistryCommands(app)
    commands.create_project(CreateProject("q", False, ALICE, None, {"auto_scan": "true"},
                                          Allowlist(["CVE-2019-10164"])))
    created = app.find(project_id("q"), Project)
    assert created.metadata == {"auto_scan": "true"} and created.allowlist == (["CVE-2019-10164"], None)
    IamCommands(app, NoCredentials()).delete_project(DeleteProject("q", 0, ALICE))
    commands.create_project(CreateProject("q", True, ALICE))
    again = app.find(project_id("q"), Project)
    assert again.metadata == {} and again.allowlist == ([], None)


def test_a_create_with_a_bad_key_creates_nothing(app):
    with pytest.raises(BadRequest):
        RegistryCommands(app).create_project(CreateProject("q", False, ALICE, None, {"severity": "x"}))
    assert app.find(project_id("q"), Project) is None
