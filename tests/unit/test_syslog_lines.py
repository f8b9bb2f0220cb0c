"""Syslog lines for forwarded audit entries, the endpoint forms and the settings they come from."""

import pytest

from domain.errors import BadRequest
from infra.messaging.syslog_client import parse_endpoint, syslog_line
from infra.settings import load_settings
from workers.audit_forwarder import disabled_types

ENTRY = {"id": 7, "event_type": "create_tag", "op_time": "2026-12-02T04:35:29.162833Z",
         "resource": "library/app:v1\n<13>1 forged line", "username": "admin"}


def test_an_entry_is_one_rfc5424_line_whatever_its_resource_holds():
    line = syslog_line(ENTRY, "registry host")
    assert line.startswith(b"<110>1 2026-12-02T04:35:29.162833Z registryhost tidemark - create_tag - {")
    assert b"\n" not in line and b'"resource":"library/app:v1\\n<13>1 forged line"' in line


@pytest.mark.parametrize("endpoint, parsed", [
    ("syslog.example:514", ("tcp", "syslog.example", 514)),
    ("tcp://10.0.0.1:6514", ("tcp", "10.0.0.1", 6514)),
    ("UDP://[::1]:514", ("udp", "::1", 514)),
])
def test_endpoint_forms(endpoint, parsed):
    assert parse_endpoint(endpoint) == parsed


@pytest.mark.parametrize("endpoint", ["syslog.example", "http://x:514", "x:0", "x:99999", ":514"])
def test_bad_endpoints_are_refused(endpoint):
    with pytest.raises(BadRequest):
        parse_endpoint(endpoint)


def test_the_forwarder_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("TIDEMARK_AUDIT_LOG_FORWARD_ENDPOINT", "udp://127.0.0.1:514")
    monkeypatch.setenv("TIDEMARK_AUDIT_LOG_DISABLED_EVENT_TYPES", " Pull_Artifact, ,create_tag")
    settings = load_settings()
    assert settings.audit_log_forward_endpoint == "udp://127.0.0.1:514"
    assert disabled_types(settings.audit_log_disabled_event_types) == {"pull_artifact", "create_tag"}
