"""Upload sessions continued on another node (issue 18, ADR 0046): two `tidemark serve`
processes on one PostgreSQL database and one S3 bucket (moto), with shared key files, and
Debian's nginx as a round-robin balancer in front of them. Each step of a chunked upload
goes to the node a test names, and skopeo pushes a multi-layer image through the balancer."""

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests import processes
from tests.e2e import oci_images
from tests.e2e.conftest import (
    ADMIN_PASSWORD, REPO_ROOT, RunningRegistry, Skopeo, _server_command, _wait_until_ready, clean_environment,
)
from tests.integration.servers import free_port, moto_s3, scratch_postgres

pytestmark = pytest.mark.e2e

NGINX_CONFIG = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
{user}
events {{ worker_connections 256; }}
http {{
    log_format nodes '$request_method $request_uri $upstream_addr $status $upstream_http_docker_upload_uuid';
    access_log {dir}/access.log nodes;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    client_max_body_size 0;
    upstream nodes {{ server 127.0.0.1:{a} max_fails=1 fail_timeout=60s;
                      server 127.0.0.1:{b} max_fails=1 fail_timeout=60s; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://nodes;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_request_buffering off;
            proxy_buffering off;
            # nginx's default: a request the node could not even take (a dead node) goes to the
            # other one when it is safe to send again (GET, HEAD); anything else is answered 502
            # once, and the node is left out for fail_timeout.
            proxy_next_upstream error timeout;
        }}
    }}
}}
"""


def _ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


class Cluster:
    def __init__(self, nodes: list[RunningRegistry], balancer: str, bucket_url: str, endpoint: str,
                 access_log: Path) -> None:
        self.nodes, self.balancer, self.bucket_url, self.endpoint = nodes, balancer, bucket_url, endpoint
        self.access_log = access_log

    def client(self, n: int) -> httpx.Client:
        return httpx.Client(base_url=f"http://{self.nodes[n].host}", auth=("admin", ADMIN_PASSWORD), timeout=60)

    def staged_parts(self) -> list[str]:
        """The keys of every upload part in the bucket."""
        import s3fs

        fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": self.endpoint}, use_listings_cache=False)
        root = self.bucket_url[len("s3://"):] + "/uploads"
        return list(fs.find(root)) if fs.exists(root) else []


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if shutil.which("nginx") is None:
        pytest.fail("nginx is not installed (scripts/test-deps.sh installs nginx-light)")
    workdir = tmp_path_factory.mktemp("shared-uploads")
    a, b, lb = _ports(3)
    with scratch_postgres() as url, moto_s3() as endpoint:
        bucket_url = "s3://shared-uploads/registry"
        shared = {"TIDEMARK_DATABASE_URL": url, "TIDEMARK_STORAGE_URL": bucket_url,
                  "TIDEMARK_S3_ENDPOINT_URL": endpoint, "TIDEMARK_EXTERNAL_URL": f"http://127.0.0.1:{lb}",
                  "TIDEMARK_TOKEN_KEY_FILE": str(workdir / "token_signing_key.pem"),
                  "TIDEMARK_SECRETS_KEY_FILE": str(workdir / "secrets.key"),
                  "TIDEMARK_BUILTIN_SCANNER": "off",
                  "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                  "AWS_DEFAULT_REGION": "us-east-1"}
        nodes = []
        for n, port in enumerate((a, b)):  # spawned from the main thread (parent-death signal)
            data_dir, log_path = workdir / f"node{n}", workdir / f"node{n}.log"
            env = clean_environment(TIDEMARK_DATA_DIR=str(data_dir), TIDEMARK_ADMIN_PASSWORD=ADMIN_PASSWORD,
                                    **shared)
            with log_path.open("wb") as log:
                process = processes.spawn(_server_command("tidemark", workdir, f"127.0.0.1:{port}", port, data_dir),
                                          cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT)
            nodes.append(RunningRegistry("tidemark", f"127.0.0.1:{port}", data_dir, log_path, process))
        nginx_dir = workdir / "nginx"
        nginx_dir.mkdir()
        config = nginx_dir / "nginx.conf"
        config.write_text(NGINX_CONFIG.format(dir=nginx_dir, a=a, b=b, port=lb,
                                              user="user root;" if os.geteuid() == 0 else ""))
        balancer = processes.spawn([shutil.which("nginx"), "-c", str(config), "-p", str(nginx_dir),
                                    "-e", str(nginx_dir / "error.log")],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for server in nodes:
                _wait_until_ready(server, 90)
            running = Cluster(nodes, f"127.0.0.1:{lb}", bucket_url, endpoint, nginx_dir / "access.log")
            running.env = shared  # what a command beside the nodes needs (`tidemark events verify`)
            yield running
        finally:
            processes.stop(balancer)
            for server in nodes:
                processes.stop(server.process)
        for server in nodes:
            log = server.log_path.read_text(errors="replace")
            assert "Traceback" not in log, log[-4000:]


def _path(location: str) -> str:
    """The path of a Location (absolute URLs name the balancer; each step picks its node)."""
    return "/" + location.split("://", 1)[-1].split("/", 1)[1] if "://" in location else location


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _chunks(seed: int, sizes: list[int]) -> list[bytes]:
    return [hashlib.sha256(f"{seed}:{n}".encode()).digest() * (size // 32) for n, size in enumerate(sizes)]


def test_chunked_upload_alternating_nodes_completes_and_pulls_from_both(cluster):
    chunks = _chunks(1, [6 * 1024 * 1024, 6 * 1024 * 1024, 1024 * 1024])
    data = b"".join(chunks)
    with cluster.client(0) as a, cluster.client(1) as b:
        started = a.post("/v2/library/chunked/blobs/uploads/")
        assert started.status_code == 202
        location, upload_id = _path(started.headers["location"]), started.headers["docker-upload-uuid"]
        assert location.endswith(upload_id)

        first = b.patch(location, content=chunks[0], headers={"content-range": f"0-{len(chunks[0]) - 1}",
                                                              "content-type": "application/octet-stream"})
        assert first.status_code == 202, first.text
        assert first.headers["range"] == f"0-{len(chunks[0]) - 1}"
        assert first.headers["docker-upload-uuid"] == upload_id
        status = a.get(location)
        assert status.status_code == 204 and status.headers["range"] == f"0-{len(chunks[0]) - 1}"

        end = len(chunks[0]) + len(chunks[1])
        second = a.patch(_path(first.headers["location"]), content=chunks[1],
                         headers={"content-range": f"{len(chunks[0])}-{end - 1}"})
        assert second.status_code == 202 and second.headers["range"] == f"0-{end - 1}"

        done = b.put(_path(second.headers["location"]), params={"digest": _digest(data)}, content=chunks[2])
        assert done.status_code == 201, done.text
        assert done.headers["docker-content-digest"] == _digest(data)

        for node in (a, b):
            pulled = node.get(f"/v2/library/chunked/blobs/{_digest(data)}")
            assert pulled.status_code == 200 and pulled.content == data
            assert node.get(location).status_code == 404  # the session is over on every node
    assert not [key for key in cluster.staged_parts() if upload_id in key]


def test_monolithic_put_after_a_post_on_the_other_node(cluster):
    data = b"one request, another node" * 1000
    with cluster.client(0) as a, cluster.client(1) as b:
        location = _path(b.post("/v2/library/mono/blobs/uploads/").headers["location"])
        done = a.put(location, params={"digest": _digest(data)}, content=data)
        assert done.status_code == 201, done.text
        assert b.get(f"/v2/library/mono/blobs/{_digest(data)}").content == data
        # and the manifest naming it, pushed on one node, is pulled from the other
        config = b'{"architecture":"amd64","os":"linux"}'
        assert a.post("/v2/library/mono/blobs/uploads/", params={"digest": _digest(config)},
                      content=config).status_code == 201
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _digest(config),
                       "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": _digest(data),
                        "size": len(data)}]}).encode()
        pushed = b.put("/v2/library/mono/manifests/v1", content=manifest,
                       headers={"content-type": "application/vnd.oci.image.manifest.v1+json"})
        assert pushed.status_code == 201, pushed.text
        assert a.get("/v2/library/mono/manifests/v1",
                     headers={"accept": "application/vnd.oci.image.manifest.v1+json"}).content == manifest


def test_status_and_cancel_from_the_other_node(cluster):
    with cluster.client(0) as a, cluster.client(1) as b:
        location = _path(a.post("/v2/library/cancel/blobs/uploads/").headers["location"])
        upload_id = location.rsplit("/", 1)[1]
        assert a.patch(location, content=b"x" * 1000).status_code == 202
        status = b.get(location)
        assert status.status_code == 204
        assert status.headers["range"] == "0-999" and status.headers["docker-upload-uuid"] == upload_id
        assert b.get(location.replace("/library/cancel/", "/library/other/")).status_code == 404  # bound to its repository
        assert b.delete(location).status_code == 204
        for node in (a, b):
            gone = node.get(location)
            assert gone.status_code == 404 and gone.json()["errors"][0]["code"] == "BLOB_UPLOAD_UNKNOWN"
        assert a.patch(location, content=b"more").status_code == 404
        assert b.delete(location).status_code == 404
    assert not [key for key in cluster.staged_parts() if upload_id in key]


def test_out_of_order_patch_on_the_other_node_is_416(cluster):
    with cluster.client(0) as a, cluster.client(1) as b:
        location = _path(a.post("/v2/library/order/blobs/uploads/").headers["location"])
        assert a.patch(location, content=b"a" * 100, headers={"content-range": "0-99"}).status_code == 202
        again = b.patch(location, content=b"b" * 100, headers={"content-range": "0-99"})
        assert again.status_code == 416
        assert b.get(location).headers["range"] == "0-99"  # the refused chunk added nothing
        data = b"a" * 100 + b"c" * 50
        assert b.patch(location, content=b"c" * 50, headers={"content-range": "100-149"}).status_code == 202
        assert a.put(location, params={"digest": _digest(data)}).status_code == 201
        assert b.get(f"/v2/library/order/blobs/{_digest(data)}").content == data


def test_wrong_digest_at_put_on_the_other_node_stores_nothing(cluster):
    data, claimed = b"real bytes" * 500, _digest(b"other bytes")
    with cluster.client(0) as a, cluster.client(1) as b:
        location = _path(a.post("/v2/library/wrong/blobs/uploads/").headers["location"])
        upload_id = location.rsplit("/", 1)[1]
        assert a.patch(location, content=data).status_code == 202
        refused = b.put(location, params={"digest": claimed})
        assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "DIGEST_INVALID"
        for node in (a, b):
            assert node.head(f"/v2/library/wrong/blobs/{claimed}").status_code == 404
            assert node.head(f"/v2/library/wrong/blobs/{_digest(data)}").status_code == 404
            assert node.get(location).status_code == 404  # discarded, as on one node
    assert not [key for key in cluster.staged_parts() if upload_id in key]


def test_skopeo_pushes_a_multi_layer_image_through_the_round_robin_balancer(cluster, tmp_path):
    layers = (3 * 1024 * 1024, 256 * 1024, 2 * 1024 * 1024, 64 * 1024)
    image = oci_images.build_image(tmp_path / "layout", tag="v1", seed=46, layer_sizes=layers)
    through = RunningRegistry("tidemark", cluster.balancer, tmp_path, cluster.nodes[0].log_path,
                              cluster.nodes[0].process)
    config_dir = tmp_path / "skopeo"
    config_dir.mkdir()
    skopeo = Skopeo(config_dir, through)
    skopeo.login("admin", ADMIN_PASSWORD)
    skopeo.copy(f"oci:{image.layout_dir}:v1", through.ref("library/balanced", "v1"))
    for n, node in enumerate(cluster.nodes):  # every layer from every node, byte for byte
        direct = RunningRegistry("tidemark", node.host, tmp_path, node.log_path, node.process)
        out = tmp_path / f"pulled-{n}"
        (tmp_path / f"skopeo-{n}").mkdir()
        helper = Skopeo(tmp_path / f"skopeo-{n}", direct)
        helper.login("admin", ADMIN_PASSWORD)
        helper.copy(direct.ref("library/balanced", "v1"), f"oci:{out}:pulled")
        for digest in image.layer_digests + [image.config_digest]:
            assert oci_images.read_blob(out, digest) == oci_images.read_blob(image.layout_dir, digest)
    # The balancer really spread the push: some upload session had requests on both nodes.
    served: dict[str, set[str]] = {}
    for line in cluster.access_log.read_text().splitlines():
        method, uri, upstream, _status, session = line.split(" ")
        if "/blobs/uploads/" not in uri:
            continue
        if session == "-":  # a PATCH or PUT answered without the header (an error): the id is in the path
            session = uri.split("/blobs/uploads/", 1)[1].split("?", 1)[0]
        if session:
            served.setdefault(session, set()).add(upstream)
    assert any(len(upstreams) == 2 for upstreams in served.values()), served


def test_a_node_killed_mid_push_the_retry_completes_through_the_balancer(cluster, tmp_path):
    """Issue 18: node A is SIGKILLed while skopeo pushes through the balancer; the client's retry
    (the same `skopeo copy` run again, as a CI job retries) completes on node B, the image pulls
    whole from B, and `tidemark events verify` is clean. Last in this module: A stays down."""
    import signal

    layers = tuple(4 * 1024 * 1024 for _ in range(8))
    image = oci_images.build_image(tmp_path / "layout", tag="v1", seed=47, layer_sizes=layers)
    killed, survivor = cluster.nodes
    through = RunningRegistry("tidemark", cluster.balancer, tmp_path, survivor.log_path, survivor.process)
    (tmp_path / "skopeo").mkdir()
    skopeo = Skopeo(tmp_path / "skopeo", through)
    skopeo.login("admin", ADMIN_PASSWORD)
    command = ["skopeo", *skopeo.global_args, "copy", "--retry-times", "5", "--src-tls-verify=false",
               "--dest-tls-verify=false", f"oci:{image.layout_dir}:v1", through.ref("library/survived", "v1")]
    pushing = subprocess.Popen(command, env=skopeo.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while "/v2/library/survived/blobs/uploads/" not in killed.log_path.read_text(errors="replace"):
        assert time.monotonic() < deadline and pushing.poll() is None, "the push never reached node A"
        time.sleep(0.005)
    processes._signal_group(killed.process.pid, signal.SIGKILL)  # mid-push: no shutdown of any kind
    killed.process.wait(timeout=10)
    mid_push = pushing.poll() is None
    _, stderr = pushing.communicate(timeout=240)
    assert mid_push  # the push was still going when node A died
    if pushing.returncode != 0:  # what was cut off with node A; the retry goes to node B
        retried = subprocess.run(command, env=skopeo.env, capture_output=True, text=True, timeout=240)
        assert retried.returncode == 0, (stderr[-2000:], retried.stderr[-2000:])
    direct = RunningRegistry("tidemark", survivor.host, tmp_path, survivor.log_path, survivor.process)
    (tmp_path / "skopeo-b").mkdir()
    helper = Skopeo(tmp_path / "skopeo-b", direct)
    helper.login("admin", ADMIN_PASSWORD)
    out = tmp_path / "pulled"
    helper.copy(direct.ref("library/survived", "v1"), f"oci:{out}:pulled")
    assert oci_images.resolve_tag(out, "pulled")["digest"] == image.manifest_digest
    for digest in image.layer_digests:
        assert oci_images.read_blob(out, digest) == oci_images.read_blob(image.layout_dir, digest)
    # The log the dead node wrote into is whole: hash chain and replay check out.
    import sys

    env = clean_environment(TIDEMARK_DATA_DIR=str(tmp_path / "verify"), **cluster.env)
    verified = subprocess.run([sys.executable, "-m", "infra.wiring.cli", "events", "verify"],
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert verified.returncode == 0, (verified.stdout[-2000:], verified.stderr[-2000:])
