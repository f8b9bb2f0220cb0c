"""Proxy-cache projects (Harbor's pull-through cache, ADR 0037) on SQLite and PostgreSQL, with
a real Debian docker-registry (CNCF Distribution) as the upstream: what a client pulling
through Tidemark gets, what lands in the cache (asked of the query models), and how the
project behaves when the upstream is down, moves a tag, or is out of the allow-list."""

import json
import os
import re
import threading

import pytest

from domain.proxy_cache import allowed, proxy_actor, upstream_repository
from infra.replication.distribution import RegistryClient
from tests.distribution_server import FaultyProxy, distribution
from tests.integration.iam_helpers import as_user, create_user
from tests.integration.oci_client import OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, descriptor, sha256
from tests.integration.webhook_receivers import wait_until

API = "/api/v2.0"
USERS = {"mirror": "Mirror-Passw0rd"}
ACCEPT = {"accept": f"{OCI_MANIFEST}, {OCI_INDEX}"}


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def upstream(tmp_path):
    with distribution(tmp_path / "upstream", users=USERS) as server:
        yield server


@pytest.fixture(autouse=True)
def no_fill_delay(request):
    if "registry" in request.fixturenames:  # cache at once: the tests wait for the cache, not a timer
        request.getfixturevalue("registry").proxy.filler.delay = 0


def upstream_client(server) -> RegistryClient:
    return RegistryClient(server.url, username="mirror", password=USERS["mirror"])


def seed_image(server, repo: str, tag: str, layer_size: int = 4096) -> dict:
    """Push a fresh image to the upstream; its digest, manifest bytes and blobs."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": os.urandom(8).hex()}).encode()
    layers = [os.urandom(layer_size), os.urandom(layer_size // 2)]
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, config),
                "layers": [descriptor(OCI_LAYER, data) for data in layers]}
    with upstream_client(server) as client:
        for data in (config, *layers):
            client.push_blob(repo, sha256(data), len(data), lambda offset, data=data: [data[offset:]])
        body = json.dumps(manifest).encode()
        digest = client.put_manifest(repo, tag, body, OCI_MANIFEST)
    return {"digest": digest, "body": body, "blobs": {sha256(d): d for d in (config, *layers)}}


def seed_index(server, repo: str, tag: str) -> dict:
    children = [seed_image(server, repo, f"child{n}") for n in range(2)]
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": c["digest"], "size": len(c["body"]),
         "platform": {"architecture": arch, "os": "linux"}} for c, arch in zip(children, ("amd64", "arm64"))]}
    body = json.dumps(index).encode()
    with upstream_client(server) as client:
        digest = client.put_manifest(repo, tag, body, OCI_INDEX)
    return {"digest": digest, "body": body, "children": children}


def created_id(response) -> int:
    assert response.status_code == 201, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


def add_endpoint(http, server, url: str | None = None) -> int:
    return created_id(http.post(f"{API}/registries", json={
        "name": f"up{os.urandom(3).hex()}", "url": url or server.url, "type": "docker-registry",
        "credential": {"type": "basic", "access_key": "mirror", "access_secret": USERS["mirror"]}}))


def proxy_project(http, registry_id: int, name: str = "hub", storage_limit: int | None = None,
                  **metadata: str) -> int:
    body = {"project_name": name, "registry_id": registry_id, "metadata": {"public": "false", **metadata}}
    if storage_limit is not None:
        body["storage_limit"] = storage_limit
    return created_id(http.post(f"{API}/projects", json=body))


def pull(http, repo: str, image: dict, tag: str = "v1") -> None:
    """Pull the manifest by tag and every blob through Tidemark, checking the bytes."""
    answer = http.get(f"/v2/{repo}/manifests/{tag}", headers=ACCEPT)
    assert answer.status_code == 200, answer.text
    assert answer.content == image["body"] and answer.headers["docker-content-digest"] == image["digest"]
    for digest, data in image["blobs"].items():
        blob = http.get(f"/v2/{repo}/blobs/{digest}")
        assert blob.status_code == 200 and blob.content == data, digest


def cached(registry, repo: str, image: dict, tag: str | None = "v1") -> bool:
    queries = registry.queries
    return (queries.manifest(repo, image["digest"]) is not None
            and (tag is None or queries.tag(repo, tag) == image["digest"])
            and all(queries.blob_size(repo, d) == len(data) for d, data in image["blobs"].items()))


def metric(http, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in http.get("/metrics").text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return 0.0


def oci_error(response) -> str:
    return response.json()["errors"][0]["code"]


# -- pulling through ---------------------------------------------------------------------

def test_a_pull_through_answers_the_upstream_bytes_and_fills_the_cache(http, registry, upstream):
    image = seed_image(upstream, "team/app", "v1", layer_size=3 * 1024 * 1024)  # several chunks
    proxy_project(http, add_endpoint(http, upstream))
    pull(http, "hub/team/app", image)
    wait_until(lambda: cached(registry, "hub/team/app", image))


def test_the_cached_tag_still_serves_when_the_upstream_is_down(http, registry, upstream):
    image = seed_image(upstream, "app", "v1")
    seed_image(upstream, "app", "v2")
    proxy_project(http, add_endpoint(http, upstream))
    pull(http, "hub/app", image)
    wait_until(lambda: cached(registry, "hub/app", image))
    upstream.stop()
    pull(http, "hub/app", image)  # manifest by tag and every blob, from the cache
    missing = http.get("/v2/hub/app/manifests/v2", headers=ACCEPT)
    assert missing.status_code == 503 and oci_error(missing) == "UNAVAILABLE"
    assert "not cached" in missing.json()["errors"][0]["message"]


def test_a_moved_upstream_tag_is_pulled_at_its_new_digest(http, registry, upstream):
    first = seed_image(upstream, "app", "v1")
    proxy_project(http, add_endpoint(http, upstream))
    pull(http, "hub/app", first)
    wait_until(lambda: cached(registry, "hub/app", first))
    second = seed_image(upstream, "app", "v1")  # the upstream moves v1
    pull(http, "hub/app", second)
    wait_until(lambda: cached(registry, "hub/app", second))
    assert registry.queries.manifest("hub/app", first["digest"]) is not None  # the old one stays, untagged


def test_within_the_staleness_a_cached_tag_is_served_without_asking_upstream(http, registry, upstream):
    first = seed_image(upstream, "app", "v1")
    proxy_project(http, add_endpoint(http, upstream))
    registry.proxy.staleness = 3600  # proxy_cache_staleness_seconds
    pull(http, "hub/app", first)
    wait_until(lambda: cached(registry, "hub/app", first))
    seed_image(upstream, "app", "v1")  # moved upstream, not looked at within the hour
    asked = metric(http, "tidemark_proxy_upstream_requests_total", project="hub", outcome="ok")
    pull(http, "hub/app", first)
    assert metric(http, "tidemark_proxy_upstream_requests_total", project="hub", outcome="ok") == asked


def test_a_docker_hub_endpoint_serves_official_images_under_library(http, registry, upstream):
    image = seed_image(upstream, "library/app", "v1")
    registry_id = created_id(http.post(f"{API}/registries", json={
        "name": "hub-like", "url": upstream.url, "type": "docker-hub",
        "credential": {"type": "basic", "access_key": "mirror", "access_secret": USERS["mirror"]}}))
    proxy_project(http, registry_id)
    pull(http, "hub/app", image)
    wait_until(lambda: cached(registry, "hub/app", image))


def test_a_manifest_by_digest_and_a_blob_head_come_from_the_upstream(http, registry, upstream):
    image = seed_image(upstream, "app", "v1")
    proxy_project(http, add_endpoint(http, upstream))
    head = http.head(f"/v2/hub/app/manifests/{image['digest']}", headers=ACCEPT)
    assert head.status_code == 200 and head.headers["docker-content-digest"] == image["digest"]
    assert http.get(f"/v2/hub/app/manifests/{image['digest']}", headers=ACCEPT).content == image["body"]
    layer, data = next(iter(image["blobs"].items()))
    blob_head = http.head(f"/v2/hub/app/blobs/{layer}")
    assert blob_head.status_code == 200 and int(blob_head.headers["content-length"]) == len(data)
    wait_until(lambda: cached(registry, "hub/app", image, tag=None))
    unknown = http.get(f"/v2/hub/app/manifests/{sha256(b'nothing')}", headers=ACCEPT)
    assert unknown.status_code == 404 and oci_error(unknown) == "MANIFEST_UNKNOWN"
    assert http.get(f"/v2/hub/app/blobs/{sha256(b'nothing')}").status_code == 404


def test_an_index_is_cached_with_every_child(http, registry, upstream):
    index = seed_index(upstream, "multi", "latest")
    proxy_project(http, add_endpoint(http, upstream))
    answer = http.get("/v2/hub/multi/manifests/latest", headers=ACCEPT)
    assert answer.status_code == 200 and answer.content == index["body"]
    wait_until(lambda: registry.queries.tag("hub/multi", "latest") == index["digest"])
    for child in index["children"]:  # never asked for by the client, cached whole
        assert cached(registry, "hub/multi", child, tag=None)


def _fetch(registry, big: str):
    proxy = registry.proxy
    upstream_side = proxy.connect(proxy.projects.of("hub"), "hub/app")
    return proxy.filler.fetch(upstream_side, "hub/app", big, proxy_actor())


def test_a_client_that_leaves_mid_blob_does_not_stop_the_fetch(http, registry, upstream):
    image = seed_image(upstream, "app", "v1", layer_size=8 * 1024 * 1024)
    proxy_project(http, add_endpoint(http, upstream), max_upstream_conn="1")
    big = max(image["blobs"], key=lambda d: len(image["blobs"][d]))
    fetch = _fetch(registry, big)
    reader = fetch.reader()
    assert reader.size == len(image["blobs"][big]) and len(next(reader)) < reader.size
    reader.close()  # what the server does when the client goes away
    assert fetch.wait_ended(30) and fetch.kept and fetch.error is None
    assert registry.queries.blob_size("hub/app", big) == len(image["blobs"][big])
    assert registry.blobs.read(big) == image["blobs"][big]
    assert list(registry.proxy.filler.staging.iterdir()) == []
    registry.proxy.upstreams.limits.acquire("hub", 1, 0)()  # the project's one connection is free again


def test_clients_asking_for_one_blob_at_once_share_one_upstream_read(http, registry, upstream):
    image = seed_image(upstream, "app", "v1", layer_size=3 * 1024 * 1024)
    big = max(image["blobs"], key=lambda d: len(image["blobs"][d]))
    with FaultyProxy(upstream.url) as counting:
        proxy_project(http, add_endpoint(http, upstream, counting.url))
        fetch = _fetch(registry, big)
        first = fetch.reader()
        assert _fetch(registry, big) is fetch
        second = fetch.reader()
        assert b"".join(first) == image["blobs"][big] == b"".join(second)
        assert fetch.wait_ended(30) and fetch.kept
        answered = [seen.status for seen in counting.seen if big in seen.path and seen.status != 401]
        assert answered == [200]  # one read of the blob (after the upstream's Basic challenge)
    assert registry.queries.blob_size("hub/app", big) == len(image["blobs"][big])


class _WrongBytes:
    """An upstream side whose blob stream breaks off with a wrong digest at its end."""

    def __init__(self, data: bytes) -> None:
        self.data, self.released = data, 0
        self.go = threading.Event()  # the rest of the bytes come once the readers are there

    def open_blob(self, digest: str, wait=None):
        from infra.replication.errors import DigestMismatch

        data, go = self.data, self.go

        class Stream:
            size = len(data)

            def __iter__(self):
                yield data[:1024]
                go.wait(10)
                yield data[1024:]
                raise DigestMismatch(f"blob {digest} does not hash to its digest")

            def close(self):
                pass

        def release():
            self.released += 1
        return Stream(), release


def test_a_fetch_whose_bytes_do_not_match_ends_every_reader_with_the_error_and_keeps_nothing(
        http, registry, upstream):
    from infra.replication.errors import DigestMismatch

    proxy_project(http, add_endpoint(http, upstream))
    wrong = _WrongBytes(os.urandom(4096))
    digest = sha256(b"what the bytes should have been")
    fetch = registry.proxy.filler.fetch(wrong, "hub/app", digest, proxy_actor())
    readers = [fetch.reader(), fetch.reader()]
    wrong.go.set()
    for reader in readers:
        got = b""
        with pytest.raises(DigestMismatch):
            for chunk in reader:
                got += chunk
        assert got == wrong.data  # every byte, then the error: the answer never looks complete
    assert fetch.wait_ended(10) and not fetch.kept and wrong.released == 1
    assert registry.blobs.size(digest) is None and registry.queries.blob_size("hub/app", digest) is None
    assert list(registry.proxy.filler.staging.iterdir()) == []
    assert registry.proxy.filler.fetch(wrong, "hub/app", digest, proxy_actor()) is not fetch  # a new try


class _HeldBytes:
    """An upstream side whose blob's first bytes come at once and the rest once `go` is set."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.go = threading.Event()

    def open_blob(self, digest: str, wait=None):
        data, go = self.data, self.go

        class Stream:
            size = len(data)

            def __iter__(self):
                yield data[:1024]
                go.wait(60)
                yield data[1024:]

            def close(self):
                pass
        return Stream(), lambda: None


def test_clients_waiting_for_a_slow_upstream_hold_no_worker_thread(http, registry, upstream):
    """60 clients following one blob's fetch while the upstream holds the rest of its bytes:
    they wait on the event loop, so the worker threads every other request needs (40 by
    default) stay free; once the bytes come, every client gets all of them."""
    import anyio
    import anyio.to_thread

    from infra.wiring.oci_app import send_response
    from infra.http.oci import Response

    proxy_project(http, add_endpoint(http, upstream))
    held = _HeldBytes(os.urandom(256 * 1024))
    digest = sha256(held.data)
    fetch = registry.proxy.filler.fetch(held, "hub/app", digest, proxy_actor())
    readers = [fetch.reader() for _ in range(60)]
    bodies: list[bytes] = []
    probe: list[str] = []

    async def client(reader) -> None:
        parts: list[bytes] = []

        async def send(message) -> None:
            parts.append(message.get("body", b""))
        await send_response({"extensions": {}}, send, Response(200, [], chunks=reader))
        bodies.append(b"".join(parts))

    async def main() -> None:
        async with anyio.create_task_group() as clients:
            for reader in readers:
                clients.start_soon(client, reader)
            await anyio.sleep(0.2)  # every client is waiting for the held bytes by now
            with anyio.move_on_after(30):  # a deadlock detector, not a speed bound
                probe.append(await anyio.to_thread.run_sync(lambda: "a worker thread answered"))
            held.go.set()
    anyio.run(main)
    assert probe == ["a worker thread answered"]
    assert len(bodies) == 60 and all(body == held.data for body in bodies)
    assert fetch.wait_ended(30) and fetch.kept


def test_a_client_late_for_a_fetch_that_kept_nothing_gets_a_fetch_of_its_own(http, registry, upstream):
    """Over the quota nothing is kept: a client that found the fetch just as it ended (this
    raced a pull against the manifest job in CI) follows a new one, not a 503."""
    from workers.proxy_cache.fetch import Missed

    image = seed_image(upstream, "app", "v1")
    proxy_project(http, add_endpoint(http, upstream), storage_limit=1000)
    big = max(image["blobs"], key=lambda d: len(image["blobs"][d]))
    fetch = _fetch(registry, big)
    assert fetch.wait_ended(30) and not fetch.kept and fetch.error is None
    with pytest.raises(Missed):
        fetch.reader()
    proxy = registry.proxy
    reader = proxy.filler.read(proxy.connect(proxy.projects.of("hub"), "hub/app"), "hub/app", big, proxy_actor())
    assert b"".join(reader) == image["blobs"][big]


def test_a_blob_that_cannot_be_staged_answers_503_and_the_next_pull_works(http, registry, upstream, monkeypatch):
    image = seed_image(upstream, "app", "v1")
    proxy_project(http, add_endpoint(http, upstream))
    big = max(image["blobs"], key=lambda d: len(image["blobs"][d]))
    filler = registry.proxy.filler

    def full_disk():
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(filler, "staging_file", full_disk)
    refused = http.get(f"/v2/hub/app/blobs/{big}")
    assert refused.status_code == 503 and oci_error(refused) == "UNAVAILABLE", refused.text
    monkeypatch.undo()
    served = http.get(f"/v2/hub/app/blobs/{big}")
    assert served.status_code == 200 and served.content == image["blobs"][big]


# -- the project's settings ----------------------------------------------------------------

def test_the_allow_list_refuses_other_repositories_without_asking_upstream(http, registry, upstream):
    image = seed_image(upstream, "team/app", "v1")
    seed_image(upstream, "other/app", "v1")
    proxy_project(http, add_endpoint(http, upstream), proxy_cache_filter_pattern="team/**",
                  proxy_cache_filter_kind="doublestar")
    asked = metric(http, "tidemark_proxy_upstream_requests_total", project="hub", outcome="ok")
    refused = http.get("/v2/hub/other/app/manifests/v1", headers=ACCEPT)
    assert refused.status_code == 404 and oci_error(refused) == "NAME_UNKNOWN"
    assert http.get(f"/v2/hub/other/app/blobs/{next(iter(image['blobs']))}").status_code == 404
    assert metric(http, "tidemark_proxy_upstream_requests_total", project="hub", outcome="ok") == asked
    pull(http, "hub/team/app", image)


def test_pushes_into_a_proxy_project_are_refused(http, registry, upstream, oci):
    proxy_project(http, add_endpoint(http, upstream))
    local, _ = oci.push_image("library/app", "v1")
    copied = http.post("/api/v2.0/projects/hub/repositories/app/artifacts", params={"from": "library/app:v1"})
    assert copied.status_code == 403 and "proxy-cache" in copied.text, copied.text  # a copy is a push too
    assert registry.queries.manifest("hub/app", local) is None
    image = seed_image(upstream, "app", "v1")
    pull(http, "hub/app", image)
    wait_until(lambda: cached(registry, "hub/app", image, "v1"))
    tagged = http.post(f"/api/v2.0/projects/hub/repositories/app/artifacts/{image['digest']}/tags",
                       json={"name": "mine"})
    assert tagged.status_code == 403 and registry.queries.tag("hub/app", "mine") is None
    data = b"pushed"
    for response in (http.post(f"/v2/hub/app/blobs/uploads/?digest={sha256(data)}", content=data),
                     http.post("/v2/hub/app/blobs/uploads/"),
                     http.put("/v2/hub/app/manifests/v1", content=b"{}", headers={"content-type": OCI_MANIFEST}),
                     http.delete("/v2/hub/app/manifests/v1")):
        assert response.status_code == 403, response.text
        error = response.json()["errors"][0]
        assert error["code"] == "DENIED" and error["message"] == "pushes into a proxy-cache project are not allowed"
    assert registry.blobs.size(sha256(data)) is None


def test_cached_content_counts_toward_the_quota(http, registry, upstream):
    image = seed_image(upstream, "app", "v1")
    quota_id = proxy_project(http, add_endpoint(http, upstream))
    pull(http, "hub/app", image)
    expected = sum(len(d) for d in image["blobs"].values()) + len(image["body"])
    # the cache fills in the background: the quota view follows the events a moment later
    wait_until(lambda: http.get(f"{API}/quotas/{quota_id}").json()["used"]["storage"] == expected)
    assert cached(registry, "hub/app", image)


def test_over_its_quota_a_proxy_project_still_answers_but_keeps_nothing_more(http, registry, upstream):
    image = seed_image(upstream, "app", "v1")
    quota_id = proxy_project(http, add_endpoint(http, upstream), storage_limit=1000)
    pull(http, "hub/app", image)  # the client gets every byte
    wait_until(registry.proxy.filler.idle)
    assert registry.queries.manifest("hub/app", image["digest"]) is None
    layers = [digest for digest, data in image["blobs"].items() if len(data) > 1000]
    assert layers and all(registry.blobs.size(digest) is None for digest in layers)
    assert http.get(f"{API}/quotas/{quota_id}").json()["used"]["storage"] <= 1000


def test_a_busy_upstream_connection_limit_answers_429_yet_serves_the_cache(http, registry, upstream):
    image = seed_image(upstream, "app", "v1")
    seed_image(upstream, "app", "v2")
    proxy_project(http, add_endpoint(http, upstream), max_upstream_conn="1")
    pull(http, "hub/app", image)
    wait_until(lambda: cached(registry, "hub/app", image))
    registry.proxy.wait = 0
    release = registry.proxy.upstreams.limits.acquire("hub", 1, 0)  # someone holds the one connection
    try:
        busy = http.get("/v2/hub/app/manifests/v2", headers=ACCEPT)
        assert busy.status_code == 429 and oci_error(busy) == "TOOMANYREQUESTS"
        assert busy.headers["retry-after"] == "1"
        pull(http, "hub/app", image)  # the cached tag does not need the upstream
    finally:
        release()
    assert http.get("/v2/hub/app/manifests/v2", headers=ACCEPT).status_code == 200


def test_proxy_speed_kb_throttles_the_projects_upstream_reads(http, registry, upstream):
    proxy_project(http, add_endpoint(http, upstream), proxy_speed_kb="64")
    project = registry.proxy.projects.of("hub")
    assert registry.proxy.connect(project, "hub/app").client._transport.throttle.rate == 64 * 1024


def test_referrers_merge_the_upstreams_with_the_cached_ones(http, registry, upstream):
    image = seed_image(upstream, "app", "v1")
    signature = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/example.sig",
                 "config": descriptor("application/vnd.oci.empty.v1+json", b"{}"),
                 "layers": [descriptor(OCI_LAYER, next(iter(image["blobs"].values())))],
                 "subject": {"mediaType": OCI_MANIFEST, "digest": image["digest"], "size": len(image["body"])}}
    with upstream_client(upstream) as client:
        client.push_blob("app", sha256(b"{}"), 2, lambda offset: [b"{}"[offset:]])
        signature_body = json.dumps(signature).encode()
        signature_digest = client.put_manifest("app", sha256(signature_body), signature_body, OCI_MANIFEST)
    only_upstream = {"mediaType": OCI_MANIFEST, "digest": sha256(b"elsewhere"), "size": 9,
                     "artifactType": "application/example.sbom"}
    entries = [{"mediaType": OCI_MANIFEST, "digest": signature_digest, "size": len(signature_body),
                "artifactType": "application/example.sig"}, only_upstream]
    with ReferrersUpstream(upstream.url, {image["digest"]: entries}) as front:
        proxy_project(http, add_endpoint(http, upstream, url=front.url))
        proxy_project(http, add_endpoint(http, upstream, url=front.url), name="plain", proxy_referrer_api="false")
        for project in ("hub", "plain"):
            assert http.get(f"/v2/{project}/app/manifests/{signature_digest}", headers=ACCEPT).status_code == 200
            wait_until(lambda: registry.queries.manifest(f"{project}/app", signature_digest) is not None)
        merged = http.get(f"/v2/hub/app/referrers/{image['digest']}").json()["manifests"]
        assert sorted(m["digest"] for m in merged) == sorted([signature_digest, only_upstream["digest"]])
        local_only = http.get(f"/v2/plain/app/referrers/{image['digest']}").json()["manifests"]
        assert [m["digest"] for m in local_only] == [signature_digest]
        sboms = http.get(f"/v2/hub/app/referrers/{image['digest']}",
                         params={"artifactType": "application/example.sbom"}).json()["manifests"]
        assert [m["digest"] for m in sboms] == [only_upstream["digest"]]


class ReferrersUpstream(FaultyProxy):
    """The upstream registry with an OCI 1.1 referrers API (Distribution 2.8 has none)."""

    def __init__(self, upstream: str, referrers: dict[str, list[dict]]) -> None:
        super().__init__(upstream)
        self.referrers = referrers

    def _handle(self, handler) -> None:
        match = re.search(r"/referrers/([^/?]+)", handler.path)
        if handler.command != "GET" or match is None:
            return super()._handle(handler)
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                           "manifests": self.referrers.get(match.group(1), [])}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", OCI_INDEX)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


def test_metrics_count_hits_misses_and_upstream_requests(http, registry, upstream):
    image = seed_image(upstream, "app", "v1")
    proxy_project(http, add_endpoint(http, upstream))
    reads = 1 + len(image["blobs"])  # the manifest and each blob
    pull(http, "hub/app", image)
    misses = metric(http, "tidemark_proxy_cache_misses_total", project="hub")
    hits = metric(http, "tidemark_proxy_cache_hits_total", project="hub")
    assert misses >= 1 and hits + misses == reads  # a blob the cache filled meanwhile is a hit
    wait_until(lambda: cached(registry, "hub/app", image))
    pull(http, "hub/app", image)
    assert metric(http, "tidemark_proxy_cache_hits_total", project="hub") == hits + reads
    assert metric(http, "tidemark_proxy_cache_misses_total", project="hub") == misses
    assert metric(http, "tidemark_proxy_upstream_requests_total", project="hub", outcome="ok") >= 2
    upstream.stop()
    http.get("/v2/hub/app/manifests/v2", headers=ACCEPT)
    assert metric(http, "tidemark_proxy_upstream_requests_total", project="hub", outcome="unreachable") >= 1


# -- the project and its registry endpoint ---------------------------------------------------

def test_a_proxy_project_names_its_registry_which_stays_while_used(http, registry, upstream):
    registry_id = add_endpoint(http, upstream)
    unknown = http.post(f"{API}/projects", json={"project_name": "nowhere", "registry_id": registry_id + 100})
    assert unknown.status_code == 400 and "registry_id" in unknown.text
    create_user(http, "dev")
    by_user = http.post(f"{API}/projects", headers=as_user("dev"),
                        json={"project_name": "mine", "registry_id": registry_id})
    assert by_user.status_code == 403  # it would pull with the endpoint's credentials
    proxy_project(http, registry_id)
    answer = http.get(f"{API}/projects/hub").json()
    assert answer["registry_id"] == registry_id
    listed = {p["name"]: p["registry_id"] for p in http.get(f"{API}/projects").json()}
    assert listed["hub"] == registry_id and listed["library"] == 0
    moved = http.put(f"{API}/projects/hub", json={"registry_id": add_endpoint(http, upstream)})
    assert moved.status_code == 400 and "registry_id" in moved.text
    assert http.put(f"{API}/projects/hub", json={"registry_id": registry_id}).status_code == 200
    refused = http.delete(f"{API}/registries/{registry_id}")
    assert refused.status_code == 412 and "hub" in refused.text
    assert http.delete(f"{API}/projects/hub").status_code == 200
    assert http.delete(f"{API}/registries/{registry_id}").status_code == 200


def test_the_proxy_view_rebuilt_equals_the_live_one(http, registry, upstream):
    from projections.projector import checksum
    from projections.rebuild import rebuild

    registry_id = add_endpoint(http, upstream)
    proxy_project(http, registry_id, proxy_speed_kb="10")
    proxy_project(http, registry_id, name="gone")
    assert http.delete(f"{API}/projects/gone").status_code == 200
    assert http.post(f"{API}/projects", json={"project_name": "gone"}).status_code == 201
    projector = next(p for p in registry.projectors if p.name == "proxy_projects")
    live = checksum(registry.db, projector.view.p, projector.view.tables)
    assert rebuild(registry.app, registry.db, type(projector.view), projector) == live
    assert registry.proxy.projects.of("gone") is None and registry.proxy.projects.of("hub").registry_id == registry_id


def test_docker_hub_names_and_the_allow_list_spellings():
    assert upstream_repository("docker-hub", "hub/nginx") == "library/nginx"
    assert upstream_repository("docker-hub", "hub/bitnami/redis") == "bitnami/redis"
    assert upstream_repository("docker-registry", "hub/nginx") == "nginx"
    library = {"proxy_cache_filter_pattern": "library/*"}
    assert allowed(library, "hub/nginx") and not allowed(library, "hub/bitnami/redis")
    regex = {"proxy_cache_filter_pattern": "(nginx|redis)", "proxy_cache_filter_kind": "regex"}
    assert allowed(regex, "hub/redis") and not allowed(regex, "hub/redis2") and allowed({}, "hub/x")


def test_the_tags_list_shows_the_upstream_s_tags_and_the_cached_ones_when_it_is_down(http, registry, upstream):
    image = seed_image(upstream, "team/app", "v1")
    seed_image(upstream, "team/app", "v2")
    proxy_project(http, add_endpoint(http, upstream))
    listed = http.get("/v2/hub/team/app/tags/list")  # nothing pulled yet
    assert listed.status_code == 200 and listed.json()["tags"] == ["v1", "v2"]
    assert http.get("/v2/hub/team/none/tags/list").status_code == 404
    pull(http, "hub/team/app", image)
    wait_until(lambda: cached(registry, "hub/team/app", image))
    upstream.stop()
    assert http.get("/v2/hub/team/app/tags/list").json()["tags"] == ["v1"]
