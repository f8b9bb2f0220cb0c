"""The replication worker's OCI Distribution client against real registries: Debian's
docker-registry (plain, htpasswd, no deletes, TLS), a Tidemark server (Bearer tokens), and a
fault-injecting proxy in front of them."""

import hashlib
import json
import os

import httpx
import pytest

from infra.replication import distribution as distribution_module
from infra.replication.auth import Authenticator, parse_challenges
from infra.replication.distribution import RegistryClient
from infra.replication.errors import (
    DigestMismatch, NotFound, Refused, ServerError, TlsError, Unauthorized, Unreachable,
)
from infra.replication.throttle import Throttle
from tests.distribution_server import FaultyProxy, distribution, self_signed_certificate
from tests.integration.servers import free_port

KIB = 1024
MIB = 1024 * KIB
PASSWORD = "Corr3ct-Horse-Battery"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def blob(size: int) -> tuple[bytes, str]:
    data = os.urandom(size)
    return data, "sha256:" + hashlib.sha256(data).hexdigest()


class Source:
    """A blob's bytes as `push_blob` reads them, remembering each offset it was opened at."""

    def __init__(self, data: bytes, piece: int = 48 * KIB) -> None:
        self.data, self.piece, self.opened_at = data, piece, []

    def __call__(self, offset: int):
        self.opened_at.append(offset)
        return (self.data[i:i + self.piece] for i in range(offset, len(self.data), self.piece))


def push(client: RegistryClient, repository: str, data: bytes, **options) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    client.push_blob(repository, digest, len(data), Source(data), **options)
    return digest


def read_all(client: RegistryClient, repository: str, digest: str, offset: int = 0) -> bytes:
    with client.open_blob(repository, digest, offset) as stream:
        return b"".join(stream)


def push_image(client: RegistryClient, repository: str, tag: str) -> tuple[bytes, str]:
    """A config and a layer, then an OCI image manifest naming them, under `tag`."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()
    layer, _ = blob(20 * KIB)
    descriptors = []
    for data, media_type in ((config, "application/vnd.oci.image.config.v1+json"),
                             (layer, "application/vnd.oci.image.layer.v1.tar+gzip")):
        descriptors.append({"mediaType": media_type, "digest": push(client, repository, data),
                            "size": len(data)})
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptors[0],
                           "layers": descriptors[1:]}).encode()
    return manifest, client.put_manifest(repository, tag, manifest, OCI_MANIFEST)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    with distribution(tmp_path_factory.mktemp("plain")) as server:
        yield server


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    with distribution(tmp_path_factory.mktemp("secured"), users={"alice": PASSWORD}) as server:
        yield server


@pytest.fixture
def client(plain):
    with RegistryClient(plain.url) as client:
        yield client


@pytest.fixture
def proxy(plain):
    with FaultyProxy(plain.url) as proxy:
        yield proxy


# -- reaching and authenticating -------------------------------------------------------------

def test_ping_answers_anonymously(client):
    client.ping()


def test_htpasswd_registry_refuses_a_wrong_password_and_accepts_the_right_one(secured):
    with RegistryClient(secured.url, username="alice", password="wrong-" + PASSWORD) as wrong:
        with pytest.raises(Unauthorized) as refused:
            wrong.ping()
    assert secured.host in str(refused.value) and "refused" in str(refused.value)
    assert PASSWORD not in str(refused.value)

    with RegistryClient(secured.url) as anonymous:
        with pytest.raises(Unauthorized, match="requires credentials"):
            anonymous.ping()

    with RegistryClient(secured.url, username="alice", password=PASSWORD) as right:
        right.ping()
        data, _ = blob(200 * KIB)
        digest = push(right, "team/app", data, chunk_size=64 * KIB)
        assert read_all(right, "team/app", digest) == data


def test_a_closed_port_is_unreachable():
    with RegistryClient(f"http://127.0.0.1:{free_port()}", timeout=5) as client:
        with pytest.raises(Unreachable, match="cannot connect"):
            client.ping()


def test_a_self_signed_certificate_needs_its_ca_or_insecure(tmp_path):
    cert, key, pem = self_signed_certificate(tmp_path)
    with distribution(tmp_path, tls=(cert, key)) as server:
        with RegistryClient(server.url) as verifying:
            with pytest.raises(TlsError, match="CA certificate or set the registry as insecure"):
                verifying.ping()
        with RegistryClient(server.url, insecure=True) as insecure:
            insecure.ping()
        with RegistryClient(server.url, ca_certificate=pem) as trusting:
            trusting.ping()
            data, _ = blob(10 * KIB)
            digest = push(trusting, "tls/app", data)
            assert trusting.blob_size("tls/app", digest) == len(data)


# -- blobs -----------------------------------------------------------------------------------

@pytest.mark.parametrize("chunk_size", [0, 64 * KIB], ids=["monolithic", "chunked"])
def test_pushed_blob_has_its_size_and_reads_back_to_its_digest(client, chunk_size):
    data, digest = blob(MIB)
    progress = []
    client.push_blob("blobs/one", digest, len(data), Source(data), chunk_size=chunk_size,
                     on_progress=progress.append)
    assert client.blob_size("blobs/one", digest) == MIB
    assert hashlib.sha256(read_all(client, "blobs/one", digest)).hexdigest() == digest[7:]
    assert progress[-1] == MIB and progress == sorted(progress)
    if chunk_size:
        assert len(progress) >= MIB // chunk_size


def test_blob_read_from_an_offset_gives_the_rest_and_the_total_size(client):
    data = os.urandom(300 * KIB)
    digest = push(client, "blobs/offset", data)
    with client.open_blob("blobs/offset", digest, offset=1000) as stream:
        assert stream.size == len(data)
        assert b"".join(stream) == data[1000:]
    with client.open_blob("blobs/offset", digest, offset=len(data)) as stream:
        assert stream.size == len(data) and b"".join(stream) == b""


def test_unknown_blob_has_no_size_and_cannot_be_read(client):
    _, digest = blob(10)
    assert client.blob_size("blobs/none", digest) is None
    with pytest.raises(NotFound):
        client.open_blob("blobs/none", digest)


def test_a_blob_whose_stored_bytes_changed_fails_its_digest_check(client, plain):
    data, _ = blob(100 * KIB)
    digest = push(client, "blobs/rotten", data)
    stored = plain.data_dir / "docker/registry/v2/blobs/sha256" / digest[7:9] / digest[7:] / "data"
    stored.write_bytes(os.urandom(len(data)))
    with pytest.raises(DigestMismatch, match="does not hash to its digest"):
        read_all(client, "blobs/rotten", digest)


@pytest.mark.parametrize("chunk_size", [0, 64 * KIB], ids=["monolithic", "chunked"])
def test_an_empty_blob_is_pushed(client, chunk_size):
    digest = push(client, "blobs/empty", b"", chunk_size=chunk_size)
    assert client.blob_size("blobs/empty", digest) == 0
    assert read_all(client, "blobs/empty", digest) == b""


def test_blob_is_mounted_from_another_repository(client):
    data, _ = blob(50 * KIB)
    digest = push(client, "mount/source", data)
    assert client.mount_blob("mount/target", digest, "mount/source") is True
    assert client.blob_size("mount/target", digest) == len(data)
    _, missing = blob(10)
    assert client.mount_blob("mount/target", missing, "mount/source") is False


# -- manifests, tags, catalog ---------------------------------------------------------------

def test_manifest_roundtrip_tags_and_catalog(client):
    manifest, digest = push_image(client, "images/app", "v1")
    assert digest == "sha256:" + hashlib.sha256(manifest).hexdigest()
    assert client.get_manifest("images/app", "v1") == (manifest, OCI_MANIFEST, digest)
    assert client.get_manifest("images/app", digest) == (manifest, OCI_MANIFEST, digest)
    assert client.manifest_digest("images/app", "v1") == digest
    assert client.manifest_digest("images/app", "v2") is None
    client.put_manifest("images/app", "v2", manifest, OCI_MANIFEST)
    assert sorted(client.tags("images/app")) == ["v1", "v2"]
    assert client.tags("images/never-pushed") == []
    assert "images/app" in client.catalog()


def test_catalog_follows_link_pagination(client, monkeypatch):
    for name in ("pages/a", "pages/b", "pages/c"):
        push(client, name, b"page " + name.encode())
    everything = client.catalog()
    assert {"pages/a", "pages/b", "pages/c"} <= set(everything)

    monkeypatch.setattr(distribution_module, "CATALOG_PAGE", 2)  # pages of two, chained by Link
    assert client.catalog() == everything
    assert client.catalog(limit=3) == everything[:3]


def test_deleted_manifest_is_gone(client):
    _, digest = push_image(client, "images/doomed", "v1")
    assert client.delete_manifest("images/doomed", digest) is True
    with pytest.raises(NotFound):
        client.get_manifest("images/doomed", digest)
    assert client.delete_manifest("images/doomed", digest) is False


def test_delete_on_a_registry_with_deletion_disabled_is_refused(tmp_path):
    with distribution(tmp_path, delete=False) as server, RegistryClient(server.url) as client:
        _, digest = push_image(client, "images/kept", "v1")
        with pytest.raises(Refused, match="deletion is disabled"):
            client.delete_manifest("images/kept", digest)
        assert client.manifest_digest("images/kept", "v1") == digest


def test_a_manifest_answer_with_another_digest_is_a_mismatch(plain, proxy):
    with RegistryClient(proxy.url) as client:
        manifest, _ = push_image(client, "images/lied", "v1")
        proxy.rewrite_manifest_digest("sha256:" + "0" * 64)
        with pytest.raises(DigestMismatch, match="expected sha256:"):
            client.put_manifest("images/lied", "v2", manifest, OCI_MANIFEST)


# -- failures and resumption ----------------------------------------------------------------

def _patches(seen):
    return [entry for entry in seen if entry.method == "PATCH"]


def reported_offset(status) -> int:
    """The byte an upload status answer (`Range: 0-N`) says to go on from."""
    return int(status.answered_range.split("-")[1]) + 1


def test_chunked_push_resumes_at_the_offset_the_destination_acknowledged(plain, proxy):
    data, digest = blob(MIB)
    source = Source(data)
    proxy.cut_patch(3)
    with RegistryClient(proxy.url, sleep=lambda seconds: None) as client:
        client.push_blob("resume/app", digest, len(data), source, chunk_size=64 * KIB, backoff=0.01)
        assert read_all(client, "resume/app", digest) == data

    seen = proxy.seen
    cut = next(i for i, entry in enumerate(seen) if entry.status is None)
    assert seen[cut].method == "PATCH" and seen[cut].content_range == f"{128 * KIB}-{192 * KIB - 1}"
    status, resumed = seen[cut + 1], seen[cut + 2]
    assert status.method == "GET" and "/blobs/uploads/" in status.path and status.status == 204
    kept = reported_offset(status)
    assert kept == 128 * KIB  # the two chunks acknowledged before the cut
    assert resumed.method == "PATCH" and resumed.content_range.startswith(f"{kept}-")
    assert [entry.method for entry in seen].count("POST") == 1  # never started over
    assert sum(entry.body_bytes for entry in seen) < 2 * len(data)
    assert source.opened_at == [0, kept]


def test_distribution_drops_an_upload_that_got_part_of_a_patch_so_the_push_starts_over(plain, proxy):
    data, digest = blob(MIB)
    proxy.cut_patch(3, forward=10 * KIB)  # Distribution keeps 10 KiB its upload state never saw
    with RegistryClient(proxy.url, sleep=lambda seconds: None) as client:
        client.push_blob("restart/app", digest, len(data), Source(data), chunk_size=64 * KIB)
        assert read_all(client, "restart/app", digest) == data

    seen = proxy.seen
    cut = next(i for i, entry in enumerate(seen) if entry.status is None)
    # "upload resumed at wrong offset": BLOB_UPLOAD_INVALID (a 404), and the upload is dropped
    assert seen[cut + 1].method == "GET" and seen[cut + 1].status == 404
    assert [entry.method for entry in seen[cut + 1:]].count("POST") == 1
    first_after = _patches(seen[cut + 1:])[0]
    assert first_after.content_range.startswith("0-")


def test_push_survives_two_server_errors_with_three_attempts(plain, proxy):
    data, digest = blob(200 * KIB)
    proxy.fail_next(2)
    with RegistryClient(proxy.url, sleep=lambda seconds: None) as client:
        client.push_blob("flaky/app", digest, len(data), Source(data), chunk_size=64 * KIB,
                         attempts=3)
        assert client.blob_size("flaky/app", digest) == len(data)
    assert [entry.status for entry in proxy.seen[:3]] == [500, 500, 202]


def test_push_gives_up_with_a_server_error_when_errors_go_on(plain, proxy):
    data, digest = blob(100 * KIB)
    waits = []
    proxy.fail_next(1000)
    with RegistryClient(proxy.url, sleep=waits.append) as client:
        with pytest.raises(ServerError, match="HTTP 500"):
            client.push_blob("broken/app", digest, len(data), Source(data), chunk_size=64 * KIB,
                             attempts=3, backoff=0.5)
    proxy.fail_next(0)
    assert waits == [0.5, 1.0]


def test_chunked_push_resumes_after_the_destination_was_down(tmp_path):
    data, digest = blob(MIB)
    source = Source(data)
    stopped = []
    with distribution(tmp_path) as server:
        def outage(acknowledged: int) -> None:
            if acknowledged == 256 * KIB and not stopped:
                stopped.append(acknowledged)
                server.stop()

        with RegistryClient(server.url, sleep=lambda seconds: server.start()) as client:
            client.push_blob("outage/app", digest, len(data), source, chunk_size=128 * KIB,
                             on_progress=outage)
            assert read_all(client, "outage/app", digest) == data
    assert stopped and source.opened_at == [0]  # the bytes went on from where they were


# -- bearer tokens (a Tidemark server) -------------------------------------------------------

@pytest.fixture(scope="module")
def tidemark(tmp_path_factory):
    from tests.e2e.conftest import start_tidemark
    from tests import processes

    workdir = tmp_path_factory.mktemp("tidemark")
    server = start_tidemark(workdir, free_port(), workdir / "data")
    try:
        yield server
    finally:
        processes.stop(server.process)


def test_bearer_tokens_from_tidemark_push_and_pull(tidemark):
    from tests.e2e.conftest import ADMIN_PASSWORD

    with RegistryClient(f"http://{tidemark.host}", username="admin", password=ADMIN_PASSWORD) as client:
        client.ping()
        manifest, digest = push_image(client, "library/x", "v1")
        assert client.get_manifest("library/x", "v1") == (manifest, OCI_MANIFEST, digest)
        assert client.tags("library/x") == ["v1"]
        assert client.delete_tag("library/x", "v1") is True
        assert client.tags("library/x") == []
        assert client.delete_tag("library/x", "v1") is False

    with RegistryClient(f"http://{tidemark.host}", username="admin", password="not-it") as wrong:
        with pytest.raises(Unauthorized) as refused:
            wrong.get_manifest("library/x", digest)
    assert "not-it" not in str(refused.value) and "token service refused" in str(refused.value)


def test_tidemark_keeps_what_a_broken_patch_delivered_and_the_push_resumes_mid_chunk(tidemark):
    from tests.e2e.conftest import ADMIN_PASSWORD

    data, digest = blob(4 * MIB)
    source = Source(data, piece=256 * KIB)
    with FaultyProxy(f"http://{tidemark.host}") as proxy:
        # Of the first 3 MiB chunk, 1.5 MiB is read and 1.25 MiB forwarded; Tidemark keeps
        # what reached it and says so in the upload's status.
        proxy.cut_patch(1, forward=int(1.25 * MIB))
        with RegistryClient(proxy.url, username="admin", password=ADMIN_PASSWORD,
                            sleep=lambda seconds: None) as client:
            client.push_blob("library/resumed", digest, len(data), source, chunk_size=3 * MIB)
            assert read_all(client, "library/resumed", digest) == data
        seen = proxy.seen
    cut = next(i for i, entry in enumerate(seen) if entry.status is None)
    status, resumed = seen[cut + 1], seen[cut + 2]
    assert status.method == "GET" and status.status == 204
    kept = reported_offset(status)
    assert 0 < kept < 3 * MIB  # inside the chunk that broke
    chunk_end = min(kept + 3 * MIB, len(data)) - 1
    assert resumed.method == "PATCH" and resumed.content_range == f"{kept}-{chunk_end}"
    assert source.opened_at == [0, kept]


# -- throttling -----------------------------------------------------------------------------

class FakeTime:
    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_a_throttled_client_sleeps_reading_a_blob(client):
    data, _ = blob(300 * KIB)
    digest = push(client, "slow/app", data)
    fake = FakeTime()
    with RegistryClient(client.url, speed_kb=100, clock=fake.clock, sleep=fake.sleep) as slow:
        assert read_all(slow, "slow/app", digest) == data
    assert fake.sleeps  # 100 KiB of burst, then 200 KiB at 100 KiB/s
    assert sum(fake.sleeps) == pytest.approx(2.0, abs=0.01)


def test_a_throttled_client_sleeps_pushing_a_blob(client):
    data, digest = blob(300 * KIB)
    fake = FakeTime()
    with RegistryClient(client.url, speed_kb=100, clock=fake.clock, sleep=fake.sleep) as slow:
        slow.push_blob("slow/up", digest, len(data), Source(data), chunk_size=64 * KIB)
    assert sum(fake.sleeps) == pytest.approx(2.0, abs=0.01)


def test_an_unthrottled_throttle_never_sleeps():
    fake = FakeTime()
    Throttle(0, clock=fake.clock, sleep=fake.sleep).consume(10 * MIB)
    assert fake.sleeps == []


# -- challenges and tokens (no server needed) -------------------------------------------------

def test_challenges_are_parsed_with_quoted_commas_and_several_schemes():
    header = ('Bearer realm="https://auth.example/token",service="registry.example",'
              'scope="repository:team/app:pull,push repository:team/base:pull", Basic realm="x y"')
    bearer, basic = parse_challenges(header)
    assert (bearer.scheme, bearer.realm, bearer.service) == ("bearer", "https://auth.example/token",
                                                             "registry.example")
    assert bearer.scopes == ["repository:team/app:pull,push", "repository:team/base:pull"]
    assert (basic.scheme, basic.realm) == ("basic", "x y")


class TokenService:
    """A stand-in token realm: hands out numbered tokens and remembers what was asked."""

    def __init__(self, status: int = 200, expires_in: int | None = 300) -> None:
        self.status, self.expires_in, self.asked = status, expires_in, []

    def __call__(self, realm, params, authorization):
        self.asked.append((realm, params, authorization))
        answer = {"token": f"token-{len(self.asked)}"}
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        return httpx.Response(self.status, json=answer if self.status == 200 else {})


def test_a_token_is_fetched_for_the_operation_scope_and_reused_until_it_nears_expiry():
    fake, service = FakeTime(), TokenService(expires_in=300)
    auth = Authenticator("hub.example", "bob", PASSWORD, clock=fake.clock)
    push_scope = ("repository:team/app:pull,push",)
    # Docker Hub style: the challenge names no scope, so the operation's is asked for
    first = auth.answer('Bearer realm="https://auth.example/token",service="hub"', push_scope,
                        None, service)
    assert first == "Bearer token-1"
    realm, params, authorization = service.asked[0]
    assert params == [("service", "hub"), ("scope", push_scope[0])]
    assert authorization.startswith("Basic ")

    assert auth.authorization(push_scope, service) == "Bearer token-1"  # cached
    assert auth.authorization(("repository:team/other:pull",), service) == "Bearer token-2"
    fake.now += 295  # within the margin before expires_in
    assert auth.authorization(push_scope, service) == "Bearer token-3"
    assert PASSWORD not in auth.scrub(f"{PASSWORD} token-3 {authorization}")


def test_a_token_service_refusal_is_unauthorized_without_the_password():
    auth = Authenticator("hub.example", "bob", PASSWORD)
    with pytest.raises(Unauthorized) as refused:
        auth.answer('Bearer realm="https://auth.example/token"', (), None, TokenService(status=401))
    assert "bob" in str(refused.value) and PASSWORD not in str(refused.value)


def test_a_tag_cannot_be_deleted_alone_on_distribution_2(client):
    _, digest = push_image(client, "images/tagged", "v1")
    with pytest.raises(Refused, match="delete the manifest by digest"):
        client.delete_tag("images/tagged", "v1")
    assert client.manifest_digest("images/tagged", "v1") == digest
