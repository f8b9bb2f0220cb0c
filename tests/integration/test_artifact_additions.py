"""Harbor's artifact additions over HTTP: a Helm chart's values.yaml, readme.md and
dependencies, an image's build history, and charts made to hurt (bombs, huge files, path
tricks) answered with a clean 4xx."""

import gzip
import io
import json
import tarfile

import pytest

from tests.helm_charts import DEPENDENCIES, HELM_CONFIG, HELM_CONTENT, README, VALUES, make_chart, tar_gz
from tests.integration.iam_helpers import add_member, anonymous, as_user, create_project, create_user
from tests.integration.oci_client import OCI_CONFIG, OCI_INDEX, OCI_LAYER, descriptor

REPO = "/api/v2.0/projects/library/repositories"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request):
    return request.param


def push_chart(oci, repo: str, tag: str, archive: bytes, config: bytes) -> str:
    oci.push_blob(repo, config)
    oci.push_blob(repo, archive)
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": descriptor(HELM_CONFIG, config),
                "layers": [descriptor(HELM_CONTENT, archive)]}
    digest, _ = oci.push_manifest(repo, tag, manifest)
    return digest


def addition(http, repo: str, reference: str, name: str):
    return http.get(f"{REPO}/{repo}/artifacts/{reference}/additions/{name}")


def test_chart_is_listed_as_chart_with_its_values_readme_and_dependencies(http, oci):
    chart = make_chart()
    digest = push_chart(oci, "library/web", "0.1.0", chart.archive, chart.config)

    listed = http.get(f"{REPO}/web/artifacts").json()
    assert [(a["type"], a["digest"]) for a in listed] == [("CHART", digest)]
    values = addition(http, "web", "0.1.0", "values.yaml")
    assert values.status_code == 200 and values.text == VALUES
    assert values.headers["content-type"].startswith("text/plain")
    readme = addition(http, "web", digest, "readme.md")
    assert readme.status_code == 200 and readme.text == README
    dependencies = addition(http, "web", "0.1.0", "dependencies")
    assert dependencies.status_code == 200
    assert dependencies.headers["content-type"].startswith("application/json")
    assert dependencies.json() == DEPENDENCIES
    assert addition(http, "web", "0.1.0", "VALUES.YAML").text == VALUES  # case, as Harbor


def test_chart_without_readme_values_or_dependencies(http, oci):
    chart = make_chart(name="bare", values=None, readme=None, dependencies=[])
    push_chart(oci, "library/bare", "1.0.0", chart.archive, chart.config)
    assert addition(http, "bare", "1.0.0", "values.yaml").status_code == 404
    missing = addition(http, "bare", "1.0.0", "readme.md")
    assert missing.status_code == 404 and "README.md" in missing.json()["errors"][0]["message"]
    assert addition(http, "bare", "1.0.0", "dependencies").json() == []


def test_additions_an_artifact_has_not_are_refused(http, oci):
    chart = make_chart()
    push_chart(oci, "library/web", "0.1.0", chart.archive, chart.config)
    oci.push_image("library/app", "v1")
    assert addition(http, "web", "0.1.0", "build_history").status_code == 400
    assert addition(http, "web", "0.1.0", "sbom").status_code == 400
    refused = addition(http, "app", "v1", "values.yaml")
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "BAD_REQUEST"
    unknown = addition(http, "app", "v1", "secrets")
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["code"] == "NOT_FOUND"
    assert addition(http, "app", "v9", "build_history").status_code == 404
    assert addition(http, "nothing", "v1", "build_history").status_code == 404


def test_image_build_history_comes_from_its_config(http, oci):
    history = [{"created": "2026-11-01T10:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:abc in /"},
               {"created": "2026-11-01T10:00:01Z", "created_by": "/bin/sh -c #(nop) CMD [\"sh\"]",
                "empty_layer": True, "comment": "buildkit"}]
    config = json.dumps({"architecture": "amd64", "os": "linux", "history": history}).encode()
    layer = b"layer-bytes"
    oci.push_blob("library/app", config)
    oci.push_blob("library/app", layer)
    oci.push_manifest("library/app", "v1", {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                                            "config": descriptor(OCI_CONFIG, config),
                                            "layers": [descriptor(OCI_LAYER, layer)]})
    answer = addition(http, "app", "v1", "build_history")
    assert answer.status_code == 200 and answer.json() == history

    oci.push_image("library/app", "plain")
    assert addition(http, "app", "plain", "build_history").json() == []
    child, body = oci.push_image("library/app", "child")
    oci.push_manifest("library/app", "multi", {
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": child,
                       "size": len(body), "platform": {"os": "linux", "architecture": "amd64"}}]},
        media_type=OCI_INDEX)
    assert addition(http, "app", "multi", "build_history").status_code == 400


def _bomb() -> bytes:
    """A tar of one 150 MiB file of zeros, gzip'd to about 150 KiB."""
    info = tarfile.TarInfo("web/templates/big.yaml")
    info.size = 150 * 1024 * 1024
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as zipped:
        zipped.write(info.tobuf())
        for _ in range(150):
            zipped.write(bytes(1024 * 1024))
        zipped.write(bytes(1024))  # the end-of-archive blocks
    return buffer.getvalue()


def _link(path: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(path)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def _long_pax_header() -> bytes:
    """A tar whose first member carries a 1 MiB pax header (tarfile reads those whole)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as zipped:
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo("web/values.yaml")
            info.pax_headers = {"comment": "x" * (1024 * 1024)}
            info.size = 4
            tar.addfile(info, io.BytesIO(b"a: 1"))
    return buffer.getvalue()


@pytest.mark.parametrize("case", ["huge values", "tar bomb", "not gzip", "gzip of junk", "pax header",
                                  "too many files"])
def test_harmful_charts_get_a_clean_422(http, oci, case):
    chart = make_chart()
    archive = {
        "huge values": lambda: make_chart(values="x: " + "y" * (6 * 1024 * 1024)).archive,
        "tar bomb": _bomb,
        "not gzip": lambda: b"PK\x03\x04 this is a zip, not a chart",
        "gzip of junk": lambda: gzip.compress(b"\x01" * 5000),
        "pax header": _long_pax_header,
        "too many files": lambda: tar_gz({f"web/templates/f{i}.yaml": b"" for i in range(10_001)}),
    }[case]()
    push_chart(oci, "library/web", "bad", archive, chart.config)
    answer = addition(http, "web", "bad", "values.yaml")
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["code"] == "UNPROCESSABLE_ENTITY"


def test_path_tricks_and_links_are_not_taken_for_the_charts_files(http, oci):
    chart = make_chart(values=None, readme=None, dependencies=[], extra={
        "../values.yaml": b"outside: true\n",
        "/README.md": b"absolute\n",
        "web/../values.yaml": b"dotdot: true\n",
        "web/charts/sub/README.md": b"a subchart's readme\n",
        "other/values.yaml": b"another chart directory\n",
    })
    archive = tar_gz({"web/Chart.yaml": b"apiVersion: v2\nname: web\nversion: 0.1.0\n",
                      "web/values.yaml": _link("web/values.yaml", "/etc/passwd")})
    push_chart(oci, "library/web", "tricks", chart.archive, chart.config)
    push_chart(oci, "library/web", "link", archive, chart.config)
    for tag in ("tricks", "link"):
        assert addition(http, "web", tag, "values.yaml").status_code == 404
        assert addition(http, "web", tag, "readme.md").status_code == 404


def test_only_callers_who_may_read_the_project_see_its_charts_additions(http, oci):
    create_project(http, "team-a")
    create_project(http, "team-b")
    for user, project in (("reader", "team-a"), ("outsider", "team-b")):
        create_user(http, user)
        add_member(http, project, user, 3)  # guest
    chart = make_chart()
    push_chart(oci, "team-a/web", "0.1.0", chart.archive, chart.config)
    url = "/api/v2.0/projects/team-a/repositories/web/artifacts/0.1.0/additions/values.yaml"
    assert http.get(url, headers=as_user("reader")).text == VALUES
    assert http.get(url, headers=as_user("outsider")).status_code == 403  # Harbor's answer (ADR 0018)
    assert anonymous(http, "GET", url).status_code == 401
    # the outsider's own project does not open the other one's chart by its digest either
    digest = http.get("/api/v2.0/projects/team-a/repositories/web/artifacts/0.1.0").json()["digest"]
    crossed = f"/api/v2.0/projects/team-b/repositories/web/artifacts/{digest}/additions/values.yaml"
    assert http.get(crossed, headers=as_user("outsider")).status_code == 404


def test_the_manifest_route_answers_the_stored_bytes_now_and_at_a_past_moment(http, oci, registry):
    first, body = oci.push_image("library/app", "v1")
    position = registry.app.head()
    second, _ = oci.push_image("library/app", "v1")  # the tag moves
    now = http.get(f"{REPO}/app/artifacts/v1/manifest")
    assert now.status_code == 200 and now.headers["docker-content-digest"] == second
    assert now.headers["content-type"].startswith("application/vnd.oci.image.manifest.v1+json")
    past = http.get(f"{REPO}/app/artifacts/v1/manifest", params={"at": position})
    assert past.status_code == 200 and past.content == body and past.headers["docker-content-digest"] == first
    assert http.get(f"{REPO}/app/artifacts/{first}/manifest").content == body
    assert http.get(f"{REPO}/app/artifacts/nope/manifest").status_code == 404


def test_the_manifest_route_is_refused_like_the_artifact_it_names(http, oci):
    create_project(http, "secret", public=False)
    oci.push_image("secret/app", "v1")
    create_user(http, "mallory")
    refused = http.get("/api/v2.0/projects/secret/repositories/app/artifacts/v1/manifest", headers=as_user("mallory"))
    assert refused.status_code == 403
    assert anonymous(http, "GET", "/api/v2.0/projects/secret/repositories/app/artifacts/v1/manifest").status_code == 401
