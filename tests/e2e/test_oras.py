"""ORAS (PyPI's oras-py) through the real token flow: an artifact with an `artifactType`,
referrers attached with `subject` and found through the referrers API, and a Helm chart
pushed and pulled as an OCI artifact that Harbor's API lists as a CHART with its additions."""

import hashlib
import tarfile

import oras.oci
import pytest

from tests.e2e import oras_tools
from tests.helm_charts import DEPENDENCIES, HELM_CONFIG, HELM_CONTENT, README, VALUES, make_chart
from tests.e2e.teams import make_team

pytestmark = pytest.mark.e2e
MODEL = "application/vnd.example.model.v1"
SBOM = "application/vnd.example.sbom.v1+json"
SIGNATURE = "application/vnd.example.signature.v1"


@pytest.fixture(autouse=True)
def _no_docker_config(monkeypatch, tmp_path):
    """oras-py reads ~/.docker/config.json: give it an empty home."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def team(api):
    """A private project with a developer and a guest."""
    return make_team(api, "oras")


def as_user(registry, user: str, push_to: str | None = None):
    return oras_tools.client(registry, user, "Passw0rd-" + user, push_to)


def test_artifact_with_referrers_found_through_the_referrers_api(team, registry, api, tmp_path):
    repository = f"{team['project']}/model"
    dev = as_user(registry, team["dev"], push_to=repository)
    weights = b"\x00\x01weights" * 1000
    digest, manifest = oras_tools.push_artifact(
        dev, f"{registry.host}/{repository}:v1", tmp_path / "model", MODEL,
        {"weights.bin": ("application/vnd.example.weights", weights)})
    head = dev.do_request(f"http://{registry.host}/v2/{repository}/manifests/{digest}", "HEAD",
                          headers={"Accept": manifest["mediaType"]})
    subject = oras.oci.Subject(mediaType=manifest["mediaType"], digest=digest,
                               size=int(head.headers["content-length"]))
    sbom_digest, _ = oras_tools.push_artifact(dev, f"{registry.host}/{repository}:sbom", tmp_path / "sbom", SBOM,
                                              {"sbom.json": ("application/json", b'{"packages": []}')}, subject)
    signature_digest, _ = oras_tools.push_artifact(
        dev, f"{registry.host}/{repository}:sig", tmp_path / "sig", SIGNATURE,
        {"signature": ("application/octet-stream", b"signed")}, subject)

    guest = as_user(registry, team["guest"])  # pull only: its token comes from the challenge
    pulled = guest.pull(target=f"{registry.host}/{repository}:v1", outdir=str(tmp_path / "out"))
    assert [open(path, "rb").read() for path in pulled] == [weights]
    everything = oras_tools.referrers(guest, registry, repository, digest)
    assert everything.status_code == 200
    found = {m["digest"]: m["artifactType"] for m in everything.json()["manifests"]}
    assert found == {sbom_digest: SBOM, signature_digest: SIGNATURE}
    filtered = oras_tools.referrers(guest, registry, repository, digest, artifact_type=SBOM)
    assert [m["digest"] for m in filtered.json()["manifests"]] == [sbom_digest]
    assert filtered.headers["oci-filters-applied"] == "artifactType"
    assert oras_tools.referrers(guest, registry, repository, digest, artifact_type="application/x-none"
                                ).json()["manifests"] == []

    artifact = api.get(f"/projects/{team['project']}/repositories/model/artifacts/v1").json()
    assert artifact["artifact_type"] == MODEL
    anonymous = oras_tools.client(registry, None, None)
    with pytest.raises(ValueError):  # a private project: no anonymous token reads it
        anonymous.pull(target=f"{registry.host}/{repository}:v1", outdir=str(tmp_path / "anon"))


def test_helm_chart_pushed_and_pulled_with_oras_is_a_chart_with_additions(team, registry, api, tmp_path,
                                                                          monkeypatch):
    repository = f"{team['project']}/charts/web"
    chart = make_chart()
    work = tmp_path / "push"
    work.mkdir()
    (work / "web-0.1.0.tgz").write_bytes(chart.archive)
    (work / "config.json").write_bytes(chart.config)
    monkeypatch.chdir(work)  # oras-py pushes only files below the working directory
    dev = as_user(registry, team["dev"], push_to=repository)
    pushed = dev.push(target=f"{registry.host}/{repository}:0.1.0", files=[f"web-0.1.0.tgz:{HELM_CONTENT}"],
                      manifest_config=f"config.json:{HELM_CONFIG}")
    assert pushed.status_code == 201

    guest = as_user(registry, team["guest"])
    manifest = guest.get_manifest(f"{registry.host}/{repository}:0.1.0")
    assert manifest["config"]["mediaType"] == HELM_CONFIG
    assert [layer["mediaType"] for layer in manifest["layers"]] == [HELM_CONTENT]
    [path] = guest.pull(target=f"{registry.host}/{repository}:0.1.0", outdir=str(tmp_path / "out"))
    assert hashlib.sha256(open(path, "rb").read()).hexdigest() == hashlib.sha256(chart.archive).hexdigest()
    with tarfile.open(path) as archive:
        assert "web/Chart.yaml" in archive.getnames()

    base = f"/projects/{team['project']}/repositories/charts%252Fweb/artifacts/0.1.0"
    [listed] = api.get(f"/projects/{team['project']}/repositories/charts%252Fweb/artifacts").json()
    assert listed["type"] == "CHART" and listed["tags"][0]["name"] == "0.1.0"
    values = api.get(f"{base}/additions/values.yaml")
    assert values.status_code == 200 and values.text == VALUES
    assert api.get(f"{base}/additions/readme.md").text == README
    assert api.get(f"{base}/additions/dependencies").json() == DEPENDENCIES
    assert api.get(f"{base}/additions/build_history").status_code == 400
