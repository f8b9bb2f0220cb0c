"""The scanner's settings: TIDEMARK_SCANNER_* variables, flags over them, the registry's data
directory as the default, and misspellings named."""

import pytest

from infra.scanner.settings import ScannerSettingsError, load_scanner_settings, unknown_scanner_environment
from infra.settings import unknown_environment


def test_the_scanner_keeps_its_files_under_the_registrys_data_directory(tmp_path):
    settings = load_scanner_settings(str(tmp_path), environ={})
    assert settings.database_path == tmp_path.resolve() / "scanner" / "vulndb.sqlite"
    assert settings.scratch_path == tmp_path.resolve() / "scanner" / "scratch"
    assert (settings.host, settings.port, settings.inventory) == ("127.0.0.1", 5001, "builtin")


def test_variables_then_flags(tmp_path):
    environ = {"TIDEMARK_SCANNER_PORT": "6000", "TIDEMARK_SCANNER_DATA_DIR": str(tmp_path / "own"),
               "TIDEMARK_SCANNER_MAX_MEMBERS": "10"}
    settings = load_scanner_settings("ignored", environ=environ, port=7000)
    assert settings.port == 7000 and settings.max_members == 10
    assert settings.root == (tmp_path / "own").resolve() / "scanner"


def test_a_bad_value_names_the_variable():
    with pytest.raises(ScannerSettingsError, match="TIDEMARK_SCANNER_CONCURRENT_SCANS"):
        load_scanner_settings(environ={"TIDEMARK_SCANNER_CONCURRENT_SCANS": "0"})
    with pytest.raises(ScannerSettingsError, match="TIDEMARK_SCANNER_API_TOKEN_FILE"):
        load_scanner_settings(environ={"TIDEMARK_SCANNER_API_TOKEN_FILE": "/nonexistent/token"})


def test_the_token_can_come_from_a_file(tmp_path):
    (tmp_path / "token").write_text("from-a-file\n")
    assert load_scanner_settings(environ={"TIDEMARK_SCANNER_API_TOKEN_FILE": str(tmp_path / "token")}).token == "from-a-file"


def test_scanner_variables_are_the_scanners_to_judge():
    environ = {"TIDEMARK_SCANNER_PROT": "1", "TIDEMARK_SCANNER_PORT": "1"}
    assert unknown_environment(environ) == []
    assert unknown_scanner_environment(environ) == [("TIDEMARK_SCANNER_PROT", "TIDEMARK_SCANNER_PORT")]
