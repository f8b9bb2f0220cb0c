"""Settings from the environment and the config file: typed, a bad value names its
variable, a key that names no setting is refused (file) or named (environment)."""

import pytest

from infra.wiring.cli import main
from infra.wiring.serve import safe_database_url
from infra.settings import SettingsError, load_settings, unknown_environment


def test_environment_values_are_converted_to_their_types(monkeypatch):
    monkeypatch.setenv("TIDEMARK_PORT", "5099")
    monkeypatch.setenv("TIDEMARK_KAFKA_START", "head")
    monkeypatch.setenv("TIDEMARK_WEBHOOK_ALLOW_LINK_LOCAL", "true")
    settings = load_settings()
    assert settings.port == 5099 and settings.kafka_start == "head"
    assert settings.webhook_allow_link_local is True


def test_a_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("TIDEMARK_KAFKA_START", "tail")
    with pytest.raises(SettingsError, match="TIDEMARK_KAFKA_START: Invalid enum value 'tail'"):
        load_settings()


def test_the_cli_refuses_a_bad_setting_without_a_traceback(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("TIDEMARK_WEBHOOK_MAX_ATTEMPTS", "many")
    assert main(["projections", "status", "--data-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("tidemark: invalid setting TIDEMARK_WEBHOOK_MAX_ATTEMPTS")
    assert "Traceback" not in error


def test_a_misspelled_key_in_the_config_file_is_refused_with_the_closest_setting(tmp_path):
    config = tmp_path / "tidemark.yml"
    config.write_text("admin_pasword: Secret-Passw0rd\nport: 5001\n")
    with pytest.raises(SettingsError, match=r"unknown setting 'admin_pasword'; did you mean admin_password\?"):
        load_settings(str(config))


def test_config_keys_may_carry_the_variable_prefix(tmp_path):
    config = tmp_path / "tidemark.yml"
    config.write_text("TIDEMARK_PORT: 5001\nlog_level: debug\n")
    settings = load_settings(str(config))
    assert settings.port == 5001 and settings.log_level == "debug"


def test_a_missing_or_broken_config_file_is_one_clear_error(tmp_path):
    with pytest.raises(SettingsError, match="cannot read the config file .*nope.yml: No such file"):
        load_settings(str(tmp_path / "nope.yml"))
    broken = tmp_path / "broken.yml"
    broken.write_text("port: [5001\n")
    with pytest.raises(SettingsError, match=r"broken.yml is not valid YAML \(line \d+\)"):
        load_settings(str(broken))
    listed = tmp_path / "list.yml"
    listed.write_text("- port\n")
    with pytest.raises(SettingsError, match="must be a mapping"):
        load_settings(str(listed))


def test_unknown_environment_variables_are_named_with_the_closest_setting():
    environ = {"TIDEMARK_ADMIN_PASWORD": "x", "TIDEMARK_PORT": "5000", "TIDEMARK_SERVER_PID": "1",
               "TIDEMARK_E2E_TARGET": "tidemark", "HOME": "/root"}
    assert unknown_environment(environ) == [("TIDEMARK_ADMIN_PASWORD", "admin_password"),
                                            ("TIDEMARK_E2E_TARGET", None)]


def test_the_database_url_is_shown_without_its_password():
    assert (safe_database_url("postgresql://tm:s3cret@db.example:5432/tidemark?sslmode=require")
            == "postgresql://tm:***@db.example:5432/tidemark?sslmode=require")
    assert (safe_database_url("postgresql://db/tidemark?user=tm&password=s3cret")
            == "postgresql://db/tidemark?user=tm&password=***")
    assert safe_database_url("postgresql://tm@db/tidemark") == "postgresql://tm@db/tidemark"
