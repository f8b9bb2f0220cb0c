"""Artifact, tag and accessory lists as Harbor gives them: `q`, `sort`, paging, the `with_*`
flags, `size` and `extra_attrs`, and GET /projects/{p}/artifacts; with `at=` as well."""

import json

import pytest

from tests.integration.oci_client import OCI_INDEX, OCI_LAYER, OCI_MANIFEST, descriptor, sha256

P = "/api/v2.0/projects/library"
BASE = P + "/repositories/app/artifacts"
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


def push_image(oci, repo: str, tag: str, config: dict | None = None) -> tuple[str, bytes, int]:
    """An image whose config is `config`; (digest, manifest bytes, Harbor's size)."""
    config_bytes = json.dumps(config or {"architecture": "amd64", "os": "linux", "tag": tag}).encode()
    oci.push_blob(repo, config_bytes)
    layer = tag.encode() * 50
    oci.push_blob(repo, layer)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": descriptor("application/vnd.oci.image.config.v1+json", config_bytes),
                "layers": [descriptor(OCI_LAYER, layer)]}
    digest, body = oci.push_manifest(repo, tag, manifest)
    return digest, body, len(body) + len(config_bytes) + len(layer)


def listed(http, path=BASE, **params) -> list:
    response = http.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def digests(http, path=BASE, **params) -> list[str]:
    return [a["digest"] for a in listed(http, path, **params)]


def test_size_is_manifest_config_and_layers_and_extra_attrs_come_from_the_config(http, oci):
    config = {"architecture": "arm64", "os": "linux", "variant": "v8", "author": "ops@example.com",
              "created": "2026-01-02T03:04:05Z", "config": {"Env": ["A=1"], "Cmd": ["run"]}}
    arm, arm_body, arm_size = push_image(oci, "library/app", "arm", config)
    amd, amd_body, amd_size = push_image(oci, "library/app", "amd")
    artifact = http.get(f"{BASE}/arm").json()
    assert artifact["size"] == arm_size and artifact["type"] == "IMAGE"
    assert artifact["extra_attrs"] == {"architecture": "arm64", "os": "linux", "variant": "v8",
                                       "author": "ops@example.com", "created": "2026-01-02T03:04:05Z",
                                       "config": {"Env": ["A=1"], "Cmd": ["run"]}}
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX,
             "manifests": [descriptor(OCI_MANIFEST, arm_body), descriptor(OCI_MANIFEST, amd_body)]}
    index_digest, index_body = oci.push_manifest("library/app", "multi", index, OCI_INDEX)
    multi = http.get(f"{BASE}/multi").json()
    # Harbor's rule for an index: its own bytes and each manifest it lists, counted in full
    assert multi["size"] == len(index_body) + arm_size + amd_size
    assert multi["type"] == "IMAGE_INDEX" and multi["extra_attrs"] == {}
    chart = {"name": "web", "version": "1.2.3", "apiVersion": "v2"}
    chart_bytes = json.dumps(chart).encode()
    oci.push_blob("library/chart", chart_bytes)
    oci.push_blob("library/chart", b"chart-tarball")
    oci.push_manifest("library/chart", "1.2.3", {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(HELM_CONFIG, chart_bytes),
        "layers": [descriptor("application/vnd.cncf.helm.chart.content.v1.tar+gzip", b"chart-tarball")]})
    helm = http.get(f"{P}/repositories/chart/artifacts/1.2.3").json()
    assert helm["type"] == "CHART" and helm["extra_attrs"] == chart
    assert [a["size"] for a in listed(http, q="digest=" + index_digest)] == [multi["size"]]


def test_with_flags_add_what_they_name_on_lists_and_single_artifacts(http, oci):
    digest, body, _ = push_image(oci, "library/app", "release-1")
    assert http.post(f"{P}/immutabletagrules", json={
        "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "release-*"}],
        "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                            "pattern": "**"}]}}).status_code == 201
    http.post(f"{BASE}/{digest}/tags", json={"name": "dev"})
    label = int(http.post("/api/v2.0/labels", json={"name": "ok", "scope": "g"}).headers["location"]
                .rsplit("/", 1)[1])
    http.post(f"{BASE}/{digest}/labels", json={"id": label})
    signature = oci.image_manifest("library/app", artifactType="application/vnd.dev.cosign.artifact.sig.v1+json",
                                   subject={"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body)})
    signature_body = json.dumps(signature).encode()
    oci.push_manifest("library/app", sha256(signature_body), signature)
    for path, pick in ((BASE, lambda a: [x for x in a if x["digest"] == digest][0]),
                       (f"{BASE}/{digest}", lambda a: a)):
        plain = pick(http.get(path).json())
        assert [t["name"] for t in plain["tags"]] == ["dev", "release-1"]
        assert plain["labels"] is None and plain["accessories"] is None
        assert not any(t["immutable"] for t in plain["tags"])
        assert pick(http.get(path, params={"with_tag": "false"}).json())["tags"] is None
        full = pick(http.get(path, params={"with_label": "true", "with_immutable_status": "true",
                                           "with_accessory": "true", "with_signature": "true",
                                           "with_scan_overview": "true", "with_sbom_overview": "true"}).json())
        assert {t["name"]: t["immutable"] for t in full["tags"]} == {"dev": False, "release-1": True}
        assert [l["name"] for l in full["labels"]] == ["ok"]
        assert [(a["type"], a["digest"]) for a in full["accessories"]] == [("signature.cosign", sha256(signature_body))]
    bad = http.get(BASE, params={"with_label": "maybe"})
    assert bad.status_code == 400 and "with_label" in bad.json()["errors"][0]["message"]


def test_q_filters_by_each_key(http, oci):
    first, first_body, _ = push_image(oci, "library/app", "v1")
    second, _, _ = push_image(oci, "library/app", "v2")
    http.delete(f"{BASE}/v2/tags/v2")  # second is now untagged
    third, _, _ = push_image(oci, "library/app", "latest")
    index_digest, _ = oci.push_manifest("library/app", "multi", {
        "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [descriptor(OCI_MANIFEST, first_body)]}, OCI_INDEX)
    labels = [int(http.post("/api/v2.0/labels", json={"name": n, "scope": "g"}).headers["location"]
                  .rsplit("/", 1)[1]) for n in ("a", "b")]
    for label in labels:
        http.post(f"{BASE}/{first}/labels", json={"id": label})
    http.post(f"{BASE}/{third}/labels", json={"id": labels[0]})
    assert set(digests(http, q="tags=*")) == {first, third, index_digest}
    assert digests(http, q="tags=nil") == [second]
    assert digests(http, q="tags=v1") == [first]
    assert set(digests(http, q="tags=~lat")) == {third}
    assert set(digests(http, q="tags=~LAT")) == {third}  # in part, whatever the case
    assert set(digests(http, q="tags={v1 latest}")) == {first, third}
    assert set(digests(http, q=f"labels={labels[0]}")) == {first, third}
    assert digests(http, q=f"labels={{{labels[0]} {labels[1]}}}") == [first]  # a set means all of them
    assert digests(http, q="type=IMAGE_INDEX") == [index_digest]
    assert set(digests(http, q="type={IMAGE}")) == {first, second, third}
    assert digests(http, q=f"media_type={OCI_INDEX}") == [index_digest]
    assert digests(http, q=f"digest={second}") == [second]
    assert digests(http, q=f"digest={second},tags=*") == []
    pushed = http.get(f"{BASE}/{third}").json()["push_time"]
    assert set(digests(http, q=f"push_time=[{pushed}~]")) == {third, index_digest}
    assert digests(http, q="push_time=[2000-01-01T00:00:00Z~2000-01-02T00:00:00Z]") == []
    assert len(digests(http, q="push_time=[946684800~]")) == 4  # seconds since the epoch: 2000-01-01
    assert len(digests(http, q="push_time=[2000-01-01~]")) == 4
    assert digests(http, q="pull_time=[2000-01-01T00:00:00Z~]") == []  # never pulled


@pytest.mark.parametrize("params,named", [
    ({"q": "colour=red"}, "colour"), ({"q": "tags=[a~b]"}, "tags"), ({"q": "labels=red"}, "labels"),
    ({"q": "push_time=[yesterday~]"}, "push_time"), ({"q": "tags"}, "tags"),
    ({"sort": "-size"}, "size"), ({"page": "two"}, "page"), ({"page_size": "500"}, "page_size"),
])
def test_bad_query_answers_400_naming_it(http, oci, params, named):
    push_image(oci, "library/app", "v1")
    for path in (BASE, P + "/artifacts"):
        response = http.get(path, params=params)
        assert response.status_code == 400
        assert named in response.json()["errors"][0]["message"]


def test_sort_and_paging_headers(http, oci):
    pushed = [push_image(oci, "library/app", f"v{n}")[0] for n in range(3)]
    assert digests(http) == pushed[::-1]  # newest first, as Harbor
    assert digests(http, sort="push_time") == pushed
    assert digests(http, sort="-push_time") == pushed[::-1]
    assert digests(http, sort="digest") == sorted(pushed)
    assert digests(http, sort="-pull_time,push_time") == pushed
    first = http.get(BASE, params={"page_size": "2", "sort": "push_time"})
    assert first.headers["x-total-count"] == "3" and 'rel="next"' in first.headers["link"]
    assert [a["digest"] for a in first.json()] == pushed[:2]
    second = http.get(BASE, params={"page_size": "2", "page": "2", "sort": "push_time"})
    assert [a["digest"] for a in second.json()] == pushed[2:]
    assert 'rel="prev"' in second.headers["link"] and 'rel="next"' not in second.headers["link"]
    empty = http.get(BASE, params={"page": "", "page_size": ""})
    assert empty.status_code == 200 and len(empty.json()) == 3


def test_project_artifacts_cover_every_repository(http, oci):
    older, _, _ = push_image(oci, "library/app", "v1")
    newer, _, _ = push_image(oci, "library/app", "v2")
    other, _, _ = push_image(oci, "library/team/api", "v1")
    push_image(oci, "elsewhere/app", "v1") if http.post("/api/v2.0/projects", json={
        "project_name": "elsewhere"}).status_code == 201 else None
    listed_now = listed(http, P + "/artifacts")
    assert [a["digest"] for a in listed_now] == [other, newer, older]
    assert {a["repository_name"] for a in listed_now} == {"library/app", "library/team/api"}
    project_id = http.get(P).json()["project_id"]
    by_id = http.get(f"/api/v2.0/projects/{project_id}/artifacts", headers={"X-Is-Resource-Name": "false"})
    assert [a["digest"] for a in by_id.json()] == [other, newer, older]
    config = "application/vnd.oci.image.config.v1+json"
    latest = digests(http, P + "/artifacts", q=f"media_type={config}", latest_in_repository="true")
    assert latest == [other, newer]
    # Harbor's rule: without a media_type or artifact_type filter, the flag does nothing
    assert len(digests(http, P + "/artifacts", latest_in_repository="true")) == 3
    page = http.get(P + "/artifacts", params={"page_size": "1", "q": "tags=v1"})
    assert page.headers["x-total-count"] == "2" and [a["digest"] for a in page.json()] == [other]


def test_tags_list_filters_sorts_and_pages(http, oci):
    digest, _, _ = push_image(oci, "library/app", "b-tag")
    for name in ("a-tag", "release-9"):
        assert http.post(f"{BASE}/{digest}/tags", json={"name": name}).status_code == 201
    tags = f"{BASE}/{digest}/tags"
    assert [t["name"] for t in listed(http, tags)] == ["release-9", "a-tag", "b-tag"]  # newest first
    assert [t["name"] for t in listed(http, tags, sort="name")] == ["a-tag", "b-tag", "release-9"]
    assert [t["name"] for t in listed(http, tags, q="name=~-tag", sort="-name")] == ["b-tag", "a-tag"]
    assert [t["name"] for t in listed(http, tags, q="name={a-tag release-9}", sort="name")] == ["a-tag", "release-9"]
    page = http.get(tags, params={"page_size": "2", "page": "2", "sort": "name"})
    assert page.headers["x-total-count"] == "3" and [t["name"] for t in page.json()] == ["release-9"]
    http.post(f"{P}/immutabletagrules", json={
        "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "release-*"}],
        "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]}})
    flagged = listed(http, tags, with_immutable_status="true", sort="name")
    assert [t["immutable"] for t in flagged] == [False, False, True]
    bad = http.get(tags, params={"q": "digest=x"})
    assert bad.status_code == 400 and "digest" in bad.json()["errors"][0]["message"]


def test_accessories_filter_by_type_and_page(http, oci):
    digest, body, _ = push_image(oci, "library/app", "v1")
    subject = {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body)}
    kinds = ("application/vnd.dev.cosign.artifact.sig.v1+json", "application/spdx+json")
    for kind in kinds:
        manifest = oci.image_manifest("library/app", artifactType=kind, subject=subject)
        oci.push_manifest("library/app", sha256(json.dumps(manifest).encode()), manifest)
    path = f"{BASE}/v1/accessories"
    assert sorted(a["type"] for a in listed(http, path)) == ["sbom.spdx", "signature.cosign"]
    assert [a["type"] for a in listed(http, path, q="type=sbom.spdx")] == ["sbom.spdx"]
    assert [a["type"] for a in listed(http, path, q="type=~Signature")] == ["signature.cosign"]
    page = http.get(path, params={"page_size": "1"})
    assert page.headers["x-total-count"] == "2" and len(page.json()) == 1 and 'rel="next"' in page.headers["link"]
    assert http.get(path, params={"q": "size=1"}).status_code == 400


def test_filters_work_with_time_travel(http, oci, registry):
    digest, _, _ = push_image(oci, "library/app", "v1")
    before_tag = registry.app.head()
    http.post(f"{BASE}/{digest}/tags", json={"name": "stable"})
    http.delete(f"{BASE}/{digest}/tags/v1")
    assert digests(http, q="tags=stable") == [digest]
    assert digests(http, q="tags=stable", at=str(before_tag)) == []
    assert digests(http, q="tags=v1", at=str(before_tag)) == [digest]
    assert digests(http, P + "/artifacts", q="tags=v1", at=str(before_tag)) == [digest]
    old_tags = listed(http, f"{BASE}/{digest}/tags", at=str(before_tag))
    assert [t["name"] for t in old_tags] == ["v1"]


def test_pull_time_is_shown_filtered_and_sorted(http, oci, registry):
    pulled, _, _ = push_image(oci, "library/app", "v1")
    never, _, _ = push_image(oci, "library/app", "v2")
    assert http.get("/v2/library/app/manifests/v1", headers={"accept": OCI_MANIFEST}).status_code == 200
    registry.pulls.flush()
    registry.catch_up()  # the pull batch is in the log; the views have it
    times = {a["digest"]: a["pull_time"] for a in listed(http)}
    assert times[never] == "0001-01-01T00:00:00.000Z" and times[pulled] > "2000"
    assert http.get(f"{BASE}/v1").json()["pull_time"] == times[pulled]
    assert digests(http, q="pull_time=[2000-01-01T00:00:00Z~]") == [pulled]
    assert digests(http, sort="-pull_time") == [pulled, never]
    assert digests(http, sort="pull_time") == [never, pulled]
