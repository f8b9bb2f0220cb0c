"""A proxy-cache project end to end: a real `tidemark serve`, a real docker-registry (CNCF
Distribution) as the upstream, and skopeo pulling through Tidemark as a user would, first
from the upstream, then from the cache with the upstream gone."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from tests.distribution_server import distribution
from tests.e2e import oci_images
from tests.e2e.conftest import ADMIN_PASSWORD, Skopeo, _free_port, _stop, start_tidemark

pytestmark = pytest.mark.e2e

UPSTREAM_USERS = {"mirror": "Mirror-Passw0rd"}
CACHE_TIMEOUT = 60.0


def _pulled(out: Path) -> tuple[dict, dict[str, bytes]]:
    """A `dir:` copy: its manifest and every blob file by digest."""
    manifest = json.loads((out / "manifest.json").read_text())
    blobs = {f"sha256:{path.name}": path.read_bytes() for path in out.iterdir()
             if len(path.name) == 64}
    return manifest, blobs


def _wait_cached(api: httpx.Client, path: str) -> None:
    deadline = time.monotonic() + CACHE_TIMEOUT
    while api.get(path).status_code != 200:
        if time.monotonic() > deadline:
            pytest.fail(f"{path} was not cached within {CACHE_TIMEOUT} s")
        time.sleep(0.1)


def test_skopeo_pulls_through_a_proxy_cache_project_then_from_the_cache(tmp_path):
    # given an upstream registry holding an image, and Tidemark with a proxy-cache project of it
    image = oci_images.build_image(tmp_path / "layout", tag="v1", seed=37)
    with distribution(tmp_path / "upstream", users=UPSTREAM_USERS) as upstream:
        port = _free_port()
        server = start_tidemark(tmp_path, port, tmp_path / "data")
        try:
            (tmp_path / "skopeo").mkdir()
            skopeo = Skopeo(tmp_path / "skopeo", server)
            skopeo.copy(f"oci:{image.layout_dir}:v1", f"docker://{upstream.host}/team/app:v1",
                        "--dest-creds", "mirror:" + UPSTREAM_USERS["mirror"])
            with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v2.0", auth=("admin", ADMIN_PASSWORD),
                              timeout=60) as api:
                created = api.post("/registries", json={
                    "name": "upstream", "url": upstream.url, "type": "docker-registry",
                    "credential": {"type": "basic", "access_key": "mirror",
                                   "access_secret": UPSTREAM_USERS["mirror"]}})
                assert created.status_code == 201, created.text
                registry_id = int(created.headers["location"].rsplit("/", 1)[1])
                project = api.post("/projects", json={"project_name": "hub", "registry_id": registry_id,
                                                       "metadata": {"public": "false"}})
                assert project.status_code == 201, project.text
                skopeo.login("admin", ADMIN_PASSWORD)
                ref = server.ref("hub/team/app", "v1")

                # when skopeo inspects and copies the image through Tidemark
                inspected = skopeo.inspect_json(ref)
                out = tmp_path / "pulled"
                skopeo.copy(ref, f"dir:{out}")

                # then it gets the upstream's image: the same digest, config and layers, byte for byte
                assert inspected["Digest"] == image.manifest_digest
                assert inspected["Layers"] == image.layer_digests
                manifest, blobs = _pulled(out)
                assert manifest["config"]["digest"] == image.config_digest
                assert [layer["digest"] for layer in manifest["layers"]] == image.layer_digests
                for digest in [image.config_digest, *image.layer_digests]:
                    assert blobs[digest] == oci_images.read_blob(image.layout_dir, digest), digest

                # and once cached, the image is served with the upstream gone
                _wait_cached(api, "/projects/hub/repositories/team%252Fapp/artifacts/v1")
                upstream.stop()
                again = tmp_path / "pulled-again"
                skopeo.copy(ref, f"dir:{again}")
                assert _pulled(again) == (manifest, blobs)
                refused = skopeo.run("copy", "--dest-tls-verify=false", f"oci:{image.layout_dir}:v1",
                                     server.ref("hub/team/pushed", "v1"), check=False)
                assert refused.returncode != 0 and "proxy-cache" in refused.stderr
        finally:
            _stop(server.process)
