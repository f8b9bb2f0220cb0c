"""The data directory and the token signing key at rest: private modes, refusal of an exposed
key, the key moved out of the database of an older version (its tokens still valid)."""

import sqlite3
from datetime import datetime, timezone

import msgspec
import pytest

from infra.wiring.registry import build_registry
from tests.integration.conftest import basic
from tests.integration.keys_helpers import exposed, mode, raw_bytes, refusal, running, tidemark
from tests.integration.servers import free_port


@pytest.fixture
def backend():
    return "sqlite"


def _key_lines(pem: bytes) -> list[bytes]:
    """The key material of a PEM file (its base64 lines), as a copy of it would hold it."""
    return pem.splitlines()[1:-1]


def _holds_key(raw: bytes, pem: bytes) -> bool:
    return any(line in raw for line in _key_lines(pem))


def _pull_token(client) -> str:
    answer = client.get("/service/token", params={"service": "tidemark",
                                                  "scope": "repository:library/app:pull"})
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def test_a_fresh_data_directory_and_everything_in_it_are_private(settings):
    settings = msgspec.structs.replace(settings, admin_password="")  # generated: admin_password
    data = settings.data_path
    with running(settings) as (registry, client, oci):
        client.headers["authorization"] = basic("admin", (data / "admin_password").read_text().strip())
        oci.push_image("library/app", "v1")
        started = client.post("/v2/library/app/blobs/uploads/")  # an upload left in progress
        assert started.status_code == 202
        names = {p.name for p in data.iterdir()}
        assert {"views.sqlite", "views.sqlite-wal", "views.sqlite-shm", "events.sqlite",
                "webhooks.sqlite", "admin_password", "token_signing_key.pem", "secrets.key",
                "uploads", "blobs"} <= names
        assert exposed(data) == {}  # the directory 0700, nothing in it readable by others
        assert mode(data) == 0o700 and mode(data / "token_signing_key.pem") == 0o600
        assert mode(data / "views.sqlite-wal") == 0o600 and mode(data / "blobs") == 0o700
        key = (data / "token_signing_key.pem").read_bytes()
        assert not _holds_key(raw_bytes(data, skip=(data / "token_signing_key.pem",)), key)
        tables = {r[0] for r in registry.db.read("SELECT name FROM sqlite_master")}
        assert "token_keys" not in tables


def test_a_data_directory_an_older_version_left_readable_is_made_private_at_start(settings):
    data = settings.data_path
    with running(settings) as (_, _client, oci):
        oci.push_image("library/app", "v1")
    for path in [data, *data.rglob("*")]:  # as 0755 directories and 0644 files left it
        path.chmod(0o755 if path.is_dir() else 0o644)
    for key in ("token_signing_key.pem", "secrets.key"):  # the older version had no key files
        (data / key).unlink()
    with running(settings) as (_, client, _oci):
        assert client.get("/v2/library/app/manifests/v1").status_code == 200
        assert mode(data) == 0o700
        assert {p.name: f"{mode(p):04o}" for p in data.iterdir() if mode(p) & 0o077} == {}


@pytest.mark.parametrize("key", ["token_signing_key.pem", "secrets.key"])
def test_a_key_file_others_can_read_stops_the_start_with_one_line(settings, key):
    with running(settings):
        pass
    path = settings.data_path / key
    path.chmod(0o640)
    assert "readable by other users (mode 0640)" in refusal(settings)
    result = tidemark(settings.data_path, "serve", "--port", str(free_port()))
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        f"tidemark: the key file {path} is readable by other users (mode 0640); make it private "
        f"with `chmod 600 {path}`, and replace the key if others may have read it")
    assert mode(path) == 0o640  # not quietly fixed: the key may have been copied


def test_a_token_key_file_named_by_a_setting_outside_the_data_directory(settings, tmp_path):
    shared = tmp_path / "mounted" / "token.pem"
    named = msgspec.structs.replace(settings, token_key_file=str(shared))
    with running(named) as (registry, client, _):
        token = _pull_token(client)
    assert mode(shared) == 0o600 and not (settings.data_path / "token_signing_key.pem").exists()
    shared.chmod(0o644)
    assert "readable by other users" in refusal(named)
    shared.chmod(0o600)
    with running(named) as (_, client, _):
        client.headers["authorization"] = f"Bearer {token}"
        assert client.get("/v2/library/app/tags/list").status_code in (200, 404)  # not 401


def test_an_older_versions_key_moves_out_of_the_database_and_its_tokens_stay_valid(settings):
    data = settings.data_path
    with running(settings) as (registry, client, oci):
        oci.push_image("library/app", "v1")
        token = _pull_token(client)
        kid = registry.tokens.kid
    pem = (data / "token_signing_key.pem").read_bytes()
    # The data directory as an older version left it: the key in the views database only.
    (data / "token_signing_key.pem").unlink()
    with sqlite3.connect(data / "views.sqlite") as conn:
        conn.execute("DROP TABLE key_ledger")
        conn.execute("CREATE TABLE token_keys (kid TEXT PRIMARY KEY, private_pem TEXT NOT NULL, "
                     "created_at TEXT NOT NULL)")
        conn.execute("INSERT INTO token_keys VALUES (?, ?, ?)",
                     (kid, pem.decode(), datetime.now(timezone.utc).isoformat()))
    conn.close()
    assert _holds_key(raw_bytes(data), pem)

    with running(settings) as (registry, client, _):
        client.headers["authorization"] = f"Bearer {token}"
        assert client.get("/v2/library/app/manifests/v1").status_code == 200  # issued before
        assert registry.tokens.kid == kid
        tables = {r[0] for r in registry.db.read("SELECT name FROM sqlite_master")}
        assert "token_keys" not in tables
        assert (data / "token_signing_key.pem").read_bytes() == pem
        assert mode(data / "token_signing_key.pem") == 0o600
        # Not in the database, nor in its free pages or write-ahead log.
        assert not _holds_key(raw_bytes(data, skip=(data / "token_signing_key.pem",)), pem)


def test_processes_that_do_not_sign_tokens_make_no_signing_key(settings):
    workers = build_registry(msgspec.structs.replace(settings, role="workers"))
    try:
        workers.start(follow=True, role="workers")
    finally:
        workers.close()
    assert not (settings.data_path / "token_signing_key.pem").exists()
    assert tidemark(settings.data_path, "projections", "status").returncode == 0
    assert not (settings.data_path / "token_signing_key.pem").exists()
