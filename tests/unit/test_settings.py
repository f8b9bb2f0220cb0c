"""Settings from the environment: typed, and a bad value names its variable."""

import pytest

from infra.cli import main
from infra.settings import SettingsError, load_settings


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
