"""Keyless CI robots with a real client (ADR 0045): `skopeo login` with the robot's name and a
workload ID token as the password, then `skopeo copy`, against a Tidemark server process that
fetches the issuer's keys over HTTP (tests/integration/workload_issuer.py, on loopback)."""

import time

import httpx
import pytest

from tests.e2e import oci_images
from tests.e2e.conftest import ADMIN_PASSWORD, Skopeo, _free_port, _stop, start_tidemark
from tests.integration.workload_issuer import workload_issuer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def issuer():
    with workload_issuer() as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("keyless")
    running = start_tidemark(workdir, _free_port(), workdir / "data",
                             TIDEMARK_WORKLOAD_ISSUER_ALLOW_HTTP_LOOPBACK="true")
    yield running
    _stop(running.process)


@pytest.fixture(scope="module")
def robot(server, issuer) -> str:
    """Private `ci` and `other`; robot$ci+builder pushes and pulls in `ci`, and trusts the
    issuer's tokens for org/app's main branch."""
    with httpx.Client(base_url=f"http://{server.host}/api/v2.0", auth=("admin", ADMIN_PASSWORD),
                      timeout=60) as api:
        for project in ("ci", "other"):
            answer = api.post("/projects", json={"project_name": project, "metadata": {"public": "false"}})
            assert answer.status_code == 201, answer.text
        created = api.post("/robots", json={"name": "builder", "level": "project", "duration": -1,
                                            "permissions": [{"kind": "project", "namespace": "ci", "access": [
                                                {"resource": "repository", "action": "push"},
                                                {"resource": "repository", "action": "pull"}]}]})
        assert created.status_code == 201, created.text
        trust = {"policies": [{"issuer": issuer.url, "audience": "tidemark",
                               "subject": "repo:org/app:ref:refs/heads/main"}]}
        answer = api.put(f"/robots/{created.json()['id']}/trust", json=trust)
        assert answer.status_code == 200, answer.text
        return created.json()["name"]


def fresh_skopeo(tmp_path, server, name: str) -> Skopeo:
    folder = tmp_path / name
    folder.mkdir()
    return Skopeo(folder, server)


def test_skopeo_logs_in_with_an_id_token_and_copies_where_the_robot_may(server, robot, issuer, tmp_path):
    image = oci_images.build_image(tmp_path / "image", tag="v1", seed=45)
    skopeo = fresh_skopeo(tmp_path, server, "ci-job")
    id_token = issuer.mint()
    assert skopeo.login(robot, id_token).returncode == 0
    skopeo.copy(f"oci:{image.layout_dir}:v1", server.ref("ci/app", "v1"))
    pulled = skopeo.inspect_json(server.ref("ci/app", "v1"), "--tls-verify=false")
    assert pulled["Digest"] == image.manifest_digest
    refused = skopeo.run("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                         f"oci:{image.layout_dir}:v1", server.ref("other/app", "v1"), check=False)
    assert refused.returncode != 0
    assert any(word in refused.stderr.lower() for word in ("denied", "unauthorized", "authentication"))
    # and the token never shows in the server's log
    assert id_token.split(".")[2] not in server.log_path.read_text(errors="replace")


def test_skopeo_login_with_a_refused_id_token_fails(server, robot, issuer, tmp_path):
    now = int(time.time())
    for name, token in (("expired", issuer.mint(iat=now - 900, nbf=now - 900, exp=now - 600)),
                        ("branch", issuer.mint(sub="repo:org/app:ref:refs/heads/dev")),
                        ("audience", issuer.mint(aud="elsewhere"))):
        skopeo = fresh_skopeo(tmp_path, server, name)
        answer = skopeo.login(robot, token, check=False)
        assert answer.returncode != 0, name
        assert token.split(".")[2] not in server.log_path.read_text(errors="replace")
    log = server.log_path.read_text(errors="replace")
    assert "a workload ID token was refused" in log and "subject does not match" in log
