"""Keys on PostgreSQL, where nodes share the database but not always a data directory: the
key moves out of the database, and a node never signs with a second key by accident."""

from datetime import datetime, timezone

import msgspec
import psycopg
import pytest

from tests.integration.keys_helpers import refusal, running

pytestmark = pytest.mark.postgres


@pytest.fixture
def backend():
    return "postgres"


def _pull_token(client) -> str:
    answer = client.get("/service/token", params={"service": "tidemark",
                                                  "scope": "repository:library/app:pull"})
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def test_a_node_without_the_key_file_refuses_and_one_given_the_shared_file_verifies(
        settings, tmp_path):
    with running(settings) as (registry, client, oci):
        oci.push_image("library/app", "v1")
        token = _pull_token(client)
        kid = registry.tokens.kid
    other_node = msgspec.structs.replace(settings, data_dir=str(tmp_path / "node2"), role="read",
                                         storage_url=settings.resolved_storage_url)  # shared blobs
    why = refusal(other_node, "read")
    assert f"sign with key {kid}" in why and "TIDEMARK_TOKEN_KEY_FILE" in why
    assert not (tmp_path / "node2" / "token_signing_key.pem").exists()  # no second key made
    shared = msgspec.structs.replace(other_node, token_key_file=str(settings.token_key_path))
    with running(shared) as (registry, client, _):
        assert registry.tokens.kid == kid
        client.headers["authorization"] = f"Bearer {token}"
        assert client.get("/v2/library/app/manifests/v1").status_code == 200


def test_an_older_versions_key_moves_out_of_postgresql_and_its_tokens_stay_valid(
        settings, postgres_url):
    with running(settings) as (registry, client, oci):
        oci.push_image("library/app", "v1")
        token = _pull_token(client)
        kid = registry.tokens.kid
    pem = settings.token_key_path.read_bytes()
    settings.token_key_path.unlink()
    with psycopg.connect(postgres_url, autocommit=True) as conn:  # as an older version left it
        conn.execute("DROP TABLE key_ledger")
        conn.execute("CREATE TABLE token_keys (kid TEXT PRIMARY KEY, private_pem TEXT NOT NULL, "
                     "created_at TEXT NOT NULL)")
        conn.execute("INSERT INTO token_keys VALUES (%s, %s, %s)",
                     (kid, pem.decode(), datetime.now(timezone.utc).isoformat()))
    with running(settings) as (registry, client, _):
        client.headers["authorization"] = f"Bearer {token}"
        assert client.get("/v2/library/app/manifests/v1").status_code == 200
        assert settings.token_key_path.read_bytes() == pem
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('token_keys')").fetchone()[0] is None
