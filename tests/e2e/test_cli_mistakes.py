"""Every CLI mistake is one clear line and a non-zero exit, through the real `tidemark`."""

import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from tests.e2e.conftest import ADMIN_PASSWORD, REPO_ROOT, clean_environment

pytestmark = pytest.mark.e2e


def _cli(*argv: str, **settings: str) -> subprocess.CompletedProcess:
    env = clean_environment(TIDEMARK_ADMIN_PASSWORD=ADMIN_PASSWORD, **settings)
    return subprocess.run([sys.executable, "-m", "infra.wiring.cli", *argv], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _one_line_error(result: subprocess.CompletedProcess, status: int = 2) -> str:
    assert result.returncode == status, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A data directory with two projects made on either side of `middle`."""
    data = tmp_path_factory.mktemp("cli") / "data"
    assert _cli("projects", "create", "before", "--data-dir", str(data)).returncode == 0
    middle = datetime.now(timezone.utc)
    assert _cli("projects", "create", "after", "--data-dir", str(data)).returncode == 0
    return data, middle


def _exported(result: subprocess.CompletedProcess) -> list[dict]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def _project_names(events: list[dict]) -> list[str]:
    return [e["data"]["name"] for e in events if e["type"].endswith("Project.Created")]


def test_events_export_maps_rfc3339_times_to_log_positions(data_dir):
    data, middle = data_dir
    everything = _exported(_cli("events", "export", "--data-dir", str(data)))
    at = middle.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    since = _exported(_cli("events", "export", "--from", at, "--data-dir", str(data)))
    until = _exported(_cli("events", "export", "--to", at.replace("+00:00", "Z"), "--data-dir", str(data)))
    assert _project_names(since) == ["after"]
    assert "before" in _project_names(until) and "after" not in _project_names(until)
    assert until + since == everything  # every event on exactly one side
    later = _exported(_cli("events", "export", "--from", "2999-01-01T00:00:00Z", "--data-dir", str(data)))
    assert later == []


@pytest.mark.parametrize("bound", ["abc", "2026-13-01T00:00:00Z", "2026-03-01T12:00:00", "²"])
def test_events_export_refuses_a_bound_that_is_neither_a_position_nor_a_time(data_dir, bound):
    data, _ = data_dir
    line = _one_line_error(_cli("events", "export", "--from", bound, "--data-dir", str(data)))
    assert line.startswith("tidemark: --from must be an event position or an RFC 3339 time")


def test_an_unknown_projection_name_is_refused_with_the_known_ones(data_dir):
    data, _ = data_dir
    line = _one_line_error(_cli("projections", "status", "nosuch", "--data-dir", str(data)))
    assert line.startswith("tidemark: no projection named 'nosuch'; known: oci, iam, audit")
    line = _one_line_error(_cli("projections", "rebuild", "nosuch", "--data-dir", str(data)))
    assert line.startswith("tidemark: no projection named 'nosuch'; known: oci, iam")


def test_a_missing_config_file_is_one_line(tmp_path):
    line = _one_line_error(_cli("--config", str(tmp_path / "missing.yml"), "projections", "status",
                                "--data-dir", str(tmp_path / "data")))
    assert line == f"tidemark: cannot read the config file {tmp_path / 'missing.yml'}: No such file or directory"


def test_a_misspelled_config_key_is_refused_with_the_closest_setting(tmp_path):
    config = tmp_path / "tidemark.yml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\nadmin_pasword: Other-Passw0rd\n")
    line = _one_line_error(_cli("--config", str(config), "projections", "status"))
    assert line == f"tidemark: {config}: unknown setting 'admin_pasword'; did you mean admin_password?"
    assert not (tmp_path / "data").exists()  # refused before anything was made


def test_a_misspelled_environment_variable_is_named_and_the_command_still_runs(tmp_path):
    result = _cli("projections", "status", "oci", "--data-dir", str(tmp_path / "data"),
                  TIDEMARK_LOG_LEVLE="debug")
    assert result.returncode == 0, result.stderr
    assert ("tidemark: warning: TIDEMARK_LOG_LEVLE is not a Tidemark setting; "
            "did you mean TIDEMARK_LOG_LEVEL?") in result.stderr.splitlines()
    assert result.stdout.startswith("oci\tposition")


def test_creating_a_project_that_exists_is_one_line(data_dir):
    data, _ = data_dir
    line = _one_line_error(_cli("projects", "create", "before", "--data-dir", str(data)), status=1)
    assert line.startswith("tidemark: ") and "before" in line
