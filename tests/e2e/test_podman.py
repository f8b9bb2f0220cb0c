"""Debian's podman and buildah through the real token flow: login, push, pull, and a
multi-architecture manifest list that Harbor's API then shows as an index and its children."""

import httpx
import pytest

from tests.e2e.conftest import ADMIN_PASSWORD
from tests.e2e.podman_tools import ContainerTools
from tests.e2e.teams import make_team

pytestmark = pytest.mark.e2e
OCI_TYPES = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"


@pytest.fixture
def tools(registry, tmp_path):
    """ContainerTools(name): podman and buildah with storage of their own, per name."""
    made = []

    def make(name: str) -> ContainerTools:
        made.append(ContainerTools(tmp_path / name, registry))
        return made[-1]

    yield make
    for helper in made:
        helper.close()


@pytest.fixture
def team(api):
    """A private project with a developer and a guest."""
    return make_team(api, "pod")


def secret(user: str) -> str:
    return "Passw0rd-" + user


def manifest(registry, repository: str, reference: str) -> dict:
    """The manifest as the registry stores it (admin's Basic credentials on /v2)."""
    response = httpx.get(f"http://{registry.host}/v2/{repository}/manifests/{reference}",
                         headers={"accept": OCI_TYPES}, auth=("admin", ADMIN_PASSWORD), timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def test_podman_login_push_and_pull_through_the_token_flow(team, registry, api, tools):
    builder = tools("builder")
    image_id = builder.build("localhost/app:v1", "amd64", "hello from podman\n")
    assert builder.login(team["dev"], "Wrong-passw0rd", check=False).returncode != 0
    assert "Login Succeeded" in builder.login(team["dev"], secret(team["dev"])).stdout
    target = f"{registry.host}/{team['project']}/app:v1"
    builder.podman("push", "--tls-verify=false", "localhost/app:v1", f"docker://{target}")

    artifacts = api.get(f"/projects/{team['project']}/repositories/app/artifacts").json()
    assert [[t["name"] for t in a["tags"]] for a in artifacts] == [["v1"]]
    assert manifest(registry, f"{team['project']}/app", "v1")["config"]["digest"] == f"sha256:{image_id}"
    history = api.get(f"/projects/{team['project']}/repositories/app/artifacts/v1/additions/build_history")
    assert [entry.get("created_by") for entry in history.json()] == ["copy amd64.txt"]

    puller = tools("puller")  # empty storage of its own
    assert puller.podman("pull", "--tls-verify=false", target, check=False).returncode != 0  # private
    puller.login(team["guest"], secret(team["guest"]))
    puller.podman("pull", "--tls-verify=false", target)
    pulled = puller.image(target)
    assert pulled["Id"] == image_id and pulled["Architecture"] == "amd64"

    puller.podman("tag", target, f"{registry.host}/{team['project']}/app:guest")
    refused = puller.podman("push", "--tls-verify=false", f"{registry.host}/{team['project']}/app:guest",
                            check=False)
    assert refused.returncode != 0
    assert "denied" in refused.stderr.lower() or "unauthorized" in refused.stderr.lower()
    assert [a["tags"][0]["name"] for a in
            api.get(f"/projects/{team['project']}/repositories/app/artifacts").json()] == ["v1"]


def test_podman_manifest_list_of_two_architectures(team, registry, api, tools):
    builder = tools("builder")
    ids = {arch: builder.build(f"localhost/app:{arch}", arch, f"built for {arch}\n") for arch in ("amd64", "arm64")}
    builder.login(team["dev"], secret(team["dev"]))
    builder.podman("manifest", "create", "localhost/app:multi")
    for arch in ids:
        builder.podman("manifest", "add", "localhost/app:multi", f"containers-storage:localhost/app:{arch}")
    target = f"{registry.host}/{team['project']}/app:multi"
    builder.podman("manifest", "push", "--tls-verify=false", "--all", "localhost/app:multi", f"docker://{target}")

    index = manifest(registry, f"{team['project']}/app", "multi")
    children = {m["platform"]["architecture"]: m["digest"] for m in index["manifests"]}
    assert set(children) == {"amd64", "arm64"}
    for arch, digest in children.items():
        assert manifest(registry, f"{team['project']}/app", digest)["config"]["digest"] == f"sha256:{ids[arch]}"
    listed = api.get(f"/projects/{team['project']}/repositories/app/artifacts").json()
    by_digest = {a["digest"]: a for a in listed}
    parent = next(a for a in listed if a["tags"] and a["tags"][0]["name"] == "multi")
    assert parent["type"] == "IMAGE_INDEX"
    assert {r["child_digest"] for r in parent["references"]} == set(children.values())
    assert {by_digest[d]["type"] for d in children.values()} == {"IMAGE"}

    puller = tools("puller")
    puller.login(team["guest"], secret(team["guest"]))
    puller.podman("pull", "--tls-verify=false", "--arch", "arm64", target)
    pulled = puller.image(target)
    assert pulled["Architecture"] == "arm64" and pulled["Id"] == ids["arm64"]
