"""Upload sessions shared through PostgreSQL and the blob store (ADR 0046), on PostgreSQL with
blobs in S3 (moto) and with blobs in a directory: the OCI blob contract, two PATCHes racing
from one offset, expiry of shared parts, and the ways a blob is assembled from its parts."""

import hashlib
import time

import pytest

from domain.artifacts.upload import Upload
from domain.errors import BlobUploadUnknown, DigestInvalid, RangeInvalid
from infra.settings import Settings
from infra.storage.shared_uploads import SharedUploadStaging
from tests.integration.conftest import ADMIN_PASSWORD, _reset_postgres
from tests.integration.oci_contract import BadInputContract, BlobContract
from workers.upload_sweeper import sweep_expired_uploads

pytestmark = pytest.mark.postgres

MIB = 1024 * 1024


@pytest.fixture(params=["s3", "directory"])
def backend(request):
    return request.param


@pytest.fixture
def settings(tmp_path, backend, request) -> Settings:
    url = request.getfixturevalue("postgres_url")
    _reset_postgres(url)
    values = {"data_dir": str(tmp_path / "data"), "external_url": "http://registry.test",
              "admin_password": ADMIN_PASSWORD, "database_url": url}
    if backend == "s3":
        values["storage_url"] = f"s3://tidemark-{tmp_path.name.lower().replace('_', '-')[:40]}/blobs"
        values["s3_endpoint_url"] = request.getfixturevalue("s3_endpoint")
    return Settings(**values)


class TestBlobsOnSharedSessions(BlobContract, BadInputContract):
    """The blob upload contract (and its bad input), every session in the database and the blob store."""


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def parts_of(registry, upload_id: str) -> list:
    return [name for name, _newest in registry.uploads.parts.sessions() if name == upload_id]


def test_sessions_are_shared_on_postgres(registry):
    assert isinstance(registry.uploads, SharedUploadStaging)


def test_two_patches_racing_from_one_offset_exactly_one_is_kept(registry):
    # given two requests (as on two nodes) that both found the session at offset 0
    uploads = registry.uploads
    upload_id = uploads.start("library/race")
    first, second = uploads.open_part(upload_id, "library/race", 0), uploads.open_part(upload_id, "library/race", 0)
    first.write(b"A" * 1000)
    second.write(b"B" * 700)
    # when both finish: the first to commit is kept, the other is told 416 and leaves nothing
    assert first.commit() == 1000
    with pytest.raises(RangeInvalid):
        second.commit()
    assert uploads.size(upload_id, "library/race") == 1000
    verified = uploads.verify(upload_id, digest(b"A" * 1000))
    assert verified.size == 1000 and len(verified.parts) == 1
    uploads.store(verified, digest(b"A" * 1000), registry.blobs)
    uploads.finish(upload_id)
    assert registry.blobs.read(digest(b"A" * 1000)) == b"A" * 1000
    assert parts_of(registry, upload_id) == []


def test_a_patch_finishing_after_a_cancel_is_unknown_and_leaves_nothing(registry):
    uploads = registry.uploads
    upload_id = uploads.start("library/late")
    late = uploads.open_part(upload_id, "library/late", 0)
    late.write(b"late bytes")
    assert uploads.cancel(upload_id, "library/late") == 0
    with pytest.raises(BlobUploadUnknown):
        late.commit()
    assert parts_of(registry, upload_id) == []


def test_another_repository_cannot_continue_or_cancel_a_session(registry):
    uploads = registry.uploads
    upload_id = uploads.start("library/mine")
    for call in (lambda: uploads.size(upload_id, "library/theirs"),
                 lambda: uploads.open_part(upload_id, "library/theirs", 0),
                 lambda: uploads.cancel(upload_id, "library/theirs"),
                 lambda: uploads.size("../../etc", "library/mine")):
        with pytest.raises(BlobUploadUnknown):
            call()
    assert uploads.size(upload_id, "library/mine") == 0


@pytest.mark.parametrize("sizes", [[6 * MIB, 6 * MIB, 100], [100, 200, 300], [5 * MIB + 1]])
def test_parts_are_assembled_into_the_blob_in_order(registry, sizes):
    # big parts are joined by S3 itself (part copies), small ones streamed, one part copied
    uploads = registry.uploads
    upload_id = uploads.start("library/parts")
    chunks = [bytes([n + 1]) * size for n, size in enumerate(sizes)]
    offset = 0
    for chunk in chunks:
        part = uploads.open_part(upload_id, "library/parts", offset)
        part.write(chunk)
        offset = part.commit()
    data = b"".join(chunks)
    verified = uploads.verify(upload_id, digest(data))
    uploads.store(verified, digest(data), registry.blobs)
    uploads.finish(upload_id)
    assert registry.blobs.size(digest(data)) == len(data) and registry.blobs.read(digest(data)) == data


def test_without_a_saved_hash_state_the_parts_are_hashed_again(registry):
    uploads = registry.uploads
    upload_id = uploads.start("library/rehash")
    part = uploads.open_part(upload_id, "library/rehash", 0)
    part.write(b"bytes" * 100)
    part.commit()
    uploads._execute("UPDATE upload_sessions SET hash_state = NULL WHERE id = %s", (upload_id,))
    with pytest.raises(DigestInvalid):
        uploads.verify(upload_id, digest(b"other"))
    uploads.finish(upload_id)
    second = uploads.start("library/rehash")
    part = uploads.open_part(second, "library/rehash", 0)
    part.write(b"bytes" * 100)
    part.commit()
    uploads._execute("UPDATE upload_sessions SET hash_state = 'garbage' WHERE id = %s", (second,))
    assert uploads.verify(second, digest(b"bytes" * 100)).size == 500


def test_expired_shared_sessions_are_abandoned_once_and_their_parts_removed(http, registry):
    location = http.post("/v2/library/app/blobs/uploads/").headers["location"]
    assert http.patch(location, content=b"half").status_code == 202
    upload_id = location.rsplit("/", 1)[1]
    assert parts_of(registry, upload_id) == [upload_id]
    stale = time.time() - registry.settings.upload_ttl_seconds - 60
    registry.uploads._execute("UPDATE upload_sessions SET touched = %s WHERE id = %s", (stale, upload_id))
    assert sweep_expired_uploads(registry) == 1
    assert sweep_expired_uploads(registry) == 0  # another node sweeping after finds nothing
    assert http.get(location).status_code == 404
    assert parts_of(registry, upload_id) == []
    last = registry.app.mapper.to_domain_event(
        registry.app.recorder.select_notifications(start=registry.app.head(), limit=1)[0])
    assert isinstance(last, Upload.Abandoned) and last.reason == "expired" and last.received_bytes == 4


def test_parts_left_by_a_node_that_died_are_removed_after_the_ttl(registry):
    uploads = registry.uploads
    upload_id = uploads.start("library/orphan")
    part = uploads.open_part(upload_id, "library/orphan", 0)
    part.write(b"left behind")
    part.commit()
    uploads._execute("DELETE FROM upload_sessions WHERE id = %s", (upload_id,))  # as a PUT that died
    assert uploads.remove_orphans(registry.settings.upload_ttl_seconds) == 0  # too recent
    assert uploads.remove_orphans(-60) == 1
    assert parts_of(registry, upload_id) == []


def test_a_cut_off_body_keeps_what_arrived_so_the_client_can_resume(registry):
    uploads = registry.uploads
    upload_id = uploads.start("library/cut")
    part = uploads.open_part(upload_id, "library/cut", 0)
    part.write(b"x" * 300)
    part.abort()  # the client went away mid-PATCH
    assert uploads.size(upload_id, "library/cut") == 300
    rest = uploads.open_part(upload_id, "library/cut", 300)
    rest.write(b"y" * 200)
    rest.commit()
    assert uploads.verify(upload_id, digest(b"x" * 300 + b"y" * 200)).size == 500
