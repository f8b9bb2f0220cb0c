"""Scanner registrations (domain/scanning/registration.py): names, URLs, the one default,
credentials kept on update, a project's choice per incarnation."""

import pytest

from domain.base import Actor
from domain.errors import BadRequest, Conflict, Forbidden, NotFound
from domain.scanning.registration import ScannerRegistrations, ScannerSpec

ADMIN = Actor(name="admin")


def spec(name="Trivy", url="http://trivy:8080", **extra) -> ScannerSpec:
    return ScannerSpec(name=name, url=url, **extra)


@pytest.fixture
def registrations():
    found = ScannerRegistrations.start()
    found.register("a", spec("Trivy"), ADMIN)
    found.register("b", spec("Clair", "https://clair.example/"), ADMIN)
    return found


def test_the_first_registration_is_the_default_and_names_are_unique(registrations):
    assert registrations.default == "a"
    assert registrations.items["b"]["url"] == "https://clair.example"
    with pytest.raises(Conflict):
        registrations.register("c", spec("Trivy", "http://other"), ADMIN)
    with pytest.raises(Conflict):
        registrations.change("b", spec("Trivy"), ADMIN)


@pytest.mark.parametrize("url", ["", "trivy:8080", "ftp://trivy", "http://", "http://u:p@trivy",
                                 "http://trivy/?q=1", "http://trivy#x", "http://trivy:0", "http://[::1"])
def test_a_registration_needs_an_http_url_without_credentials(url):
    with pytest.raises(BadRequest):
        ScannerRegistrations.start().register("x", spec(url=url), ADMIN)


@pytest.mark.parametrize("name", ["", " ", "a" * 129, "bad/name", "two  spaces", "-lead"])
def test_bad_names_are_refused(name):
    with pytest.raises(BadRequest):
        ScannerRegistrations.start().register("x", spec(name), ADMIN)


def test_an_auth_type_needs_a_credential_and_an_update_keeps_the_stored_one():
    found = ScannerRegistrations.start()
    with pytest.raises(BadRequest):
        found.register("x", spec(auth="Bearer"), ADMIN)
    with pytest.raises(BadRequest):
        found.register("x", spec(auth="Digest", access_credential="s"), ADMIN)
    found.register("x", spec(auth="Bearer", access_credential="sealed-1"), ADMIN)
    found.change("x", spec(auth="Bearer", description="new"), ADMIN)
    assert found.items["x"]["access_credential"] == "sealed-1" and found.items["x"]["description"] == "new"
    found.change("x", spec(), ADMIN)  # no auth: no credential kept
    assert found.items["x"]["access_credential"] == "" and found.items["x"]["auth"] == ""
    with pytest.raises(BadRequest):  # nothing stored any more to keep
        found.change("x", spec(auth="Bearer"), ADMIN)


def test_the_default_cannot_be_removed_until_another_is_chosen(registrations):
    with pytest.raises(Forbidden):
        registrations.remove("a", ADMIN)
    registrations.choose_default("b", ADMIN)
    assert registrations.remove("a", ADMIN)["name"] == "Trivy"
    assert registrations.default == "b" and "a" not in registrations.items
    with pytest.raises(NotFound):
        registrations.get("a")


def test_a_project_scans_with_its_choice_else_the_default_and_a_new_incarnation_starts_afresh(registrations):
    assert registrations.for_project("p1", 7) == "a"
    registrations.choose_for_project("p1", 7, "b", ADMIN)
    assert registrations.for_project("p1", 7) == "b"
    assert registrations.for_project("p1", 99) == "a"  # p1 deleted and created again
    registrations.choose_default("b", ADMIN)
    registrations.choose_for_project("p2", 8, "a", ADMIN)
    registrations.remove("a", ADMIN)
    assert registrations.for_project("p2", 8) == "b"  # its scanner went: the default
    with pytest.raises(BadRequest):
        registrations.choose_for_project("p2", 8, "nope", ADMIN)


def test_a_disabled_registration_cannot_be_chosen_by_a_project(registrations):
    registrations.change("b", spec("Clair", "https://clair.example", disabled=True), ADMIN)
    with pytest.raises(BadRequest):
        registrations.choose_for_project("p1", 1, "b", ADMIN)


def test_no_event_is_recorded_for_an_unchanged_registration(registrations):
    list(registrations.collect_events())
    registrations.change("a", spec("Trivy"), ADMIN)
    registrations.choose_default("a", ADMIN)
    assert list(registrations.collect_events()) == []
