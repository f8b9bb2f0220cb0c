"""`<data dir>/admin_password` holds the generated password only while it opens the admin account."""

from litestar.testing import TestClient

from infra.wiring.app import create_app
from infra.wiring.registry import build_registry
from infra.settings import Settings
from tests.integration.conftest import basic

API = "/api/v2.0"


def _settings(tmp_path) -> Settings:  # no TIDEMARK_ADMIN_PASSWORD: one is generated
    return Settings(data_dir=str(tmp_path / "data"), external_url="http://registry.test")


def test_the_generated_password_file_is_deleted_once_the_admin_changes_the_password(tmp_path):
    # given a first start that generated the admin password
    settings = _settings(tmp_path)
    kept = settings.data_path / "admin_password"
    registry = build_registry(settings)
    try:
        with TestClient(create_app(settings, registry), base_url="http://registry.test") as http:
            generated = kept.read_text().strip()
            me = http.get(f"{API}/users/current", headers={"authorization": basic("admin", generated)})
            assert me.status_code == 200
            # when the admin changes it
            changed = http.put(f"{API}/users/{me.json()['user_id']}/password",
                               headers={"authorization": basic("admin", generated)},
                               json={"old_password": generated, "new_password": "Chosen-Passw0rd"})
            assert changed.status_code == 200
            # then no file keeps the stale password, and the new one works
            assert not kept.exists()
            assert http.get(f"{API}/users/current",
                            headers={"authorization": basic("admin", "Chosen-Passw0rd")}).status_code == 200
    finally:
        registry.close()
    # and a restart neither writes it again nor changes the password
    registry = build_registry(settings)
    try:
        registry.start(follow=False)
        assert not kept.exists()
        assert registry.credentials.verify("admin", "Chosen-Passw0rd")
    finally:
        registry.close()


def test_a_stale_password_file_is_deleted_at_start(tmp_path):
    # given a registry whose admin password changed while the file stayed (an older version)
    settings = _settings(tmp_path)
    kept = settings.data_path / "admin_password"
    registry = build_registry(settings)
    registry.start(follow=False)
    generated = kept.read_text().strip()
    registry.credentials.observers.clear()  # as before this fix: nothing watched the change
    registry.credentials.set("admin", "Chosen-Passw0rd")
    registry.close()
    assert kept.read_text().strip() == generated
    # when it starts again
    registry = build_registry(settings)
    try:
        registry.start(follow=False)
        # then the file that no longer opens the account is gone
        assert not kept.exists()
    finally:
        registry.close()


def test_the_file_stays_while_it_holds_the_current_password(tmp_path):
    settings = _settings(tmp_path)
    kept = settings.data_path / "admin_password"
    for _ in range(2):  # the first start and a restart
        registry = build_registry(settings)
        try:
            registry.start(follow=False)
            assert registry.credentials.verify("admin", kept.read_text().strip())
        finally:
            registry.close()
