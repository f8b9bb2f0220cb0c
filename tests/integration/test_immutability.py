"""Tag immutability rules: a selected tag can be neither moved nor deleted."""

import json

import pytest

from tests.integration.oci_client import OCI_MANIFEST

RULES = "/api/v2.0/projects/library/immutabletagrules"


@pytest.fixture
def backend():
    return "sqlite"


def rule(tag_pattern: str, kind: str = "doublestar", repo_pattern: str = "**") -> dict:
    return {"tag_selectors": [{"kind": kind, "decoration": "matches", "pattern": tag_pattern}],
            "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                                "pattern": repo_pattern}]}}


def test_release_rule_refuses_a_repush_but_allows_new_tags(http, oci):
    assert http.post(RULES, json=rule("release-*")).status_code == 201
    first, _ = oci.push_image("library/app", "release-1")
    manifest = oci.image_manifest("library/app")
    response = http.put("/v2/library/app/manifests/release-1", content=json.dumps(manifest),
                        headers={"content-type": OCI_MANIFEST})
    assert response.status_code == 403
    error = response.json()["errors"][0]
    assert error["code"] == "DENIED" and "immutable" in error["message"]
    assert http.get("/v2/library/app/manifests/release-1").headers["docker-content-digest"] == first
    oci.push_manifest("library/app", "dev-1", manifest)  # not selected: fine


def test_immutable_tag_and_its_artifact_cannot_be_deleted(http, oci):
    http.post(RULES, json=rule("v*"))
    digest, _ = oci.push_image("library/app", "v1")
    assert http.delete("/v2/library/app/manifests/v1").status_code == 403
    assert http.delete(f"/v2/library/app/manifests/{digest}").status_code == 403
    refused = http.delete(f"/api/v2.0/projects/library/repositories/app/artifacts/{digest}")
    assert refused.status_code == 403 and refused.json()["errors"][0]["code"] == "FORBIDDEN"


def test_regex_selectors_and_repository_scope(http, oci):
    http.post(RULES, json=rule(r"v\d+\.\d+", kind="regex", repo_pattern="prod/**"))
    oci.push_image("library/prod/api", "v1.2")
    oci.push_image("library/dev/api", "v1.2")
    manifest = oci.image_manifest("library/prod/api")
    assert http.put("/v2/library/prod/api/manifests/v1.2", content=json.dumps(manifest),
                    headers={"content-type": OCI_MANIFEST}).status_code == 403
    other = oci.image_manifest("library/dev/api")
    oci.push_manifest("library/dev/api", "v1.2", other)


def test_rules_are_listed_updated_and_deleted(http, oci):
    location = http.post(RULES, json=rule("release-*")).headers["location"]
    rule_id = int(location.rsplit("/", 1)[1])
    listed = http.get(RULES).json()
    assert listed[0]["id"] == rule_id and listed[0]["tag_selectors"][0]["pattern"] == "release-*"
    disabled = {**rule("release-*"), "disabled": True}
    assert http.put(f"{RULES}/{rule_id}", json=disabled).status_code == 200
    oci.push_image("library/app", "release-1")
    oci.push_image("library/app", "release-1")  # disabled rule: the move is allowed
    assert http.delete(f"{RULES}/{rule_id}").status_code == 200
    assert http.get(RULES).json() == []


@pytest.mark.parametrize("body,field", [
    (rule("[unclosed", kind="regex"), "tag_selectors.pattern"),
    ({"tag_selectors": [{"kind": "shell", "decoration": "matches", "pattern": "x"}]}, "tag_selectors.kind"),
    ({"tag_selectors": []}, "tag_selectors"),
])
def test_bad_rules_are_400_naming_the_field(http, body, field):
    response = http.post(RULES, json=body)
    assert response.status_code == 400
    assert field.split(".")[0] in response.json()["errors"][0]["message"]
