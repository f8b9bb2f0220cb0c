"""The system configuration aggregate and its command, in memory."""

import pytest

from commands.application import RegistryApplication
from commands.configuration_handlers import ChangeConfiguration, ConfigurationCommands
from domain.base import Actor
from domain.configuration import CONFIGURATION_ID, SystemConfiguration
from domain.configuration_keys import DEFAULTS, check_values
from domain.errors import BadRequest
from infra.auth.secrets import Keyring

ADMIN = Actor(name="admin", client_ip="10.0.0.1", request_id="r1")


@pytest.fixture
def app():
    return RegistryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


@pytest.fixture
def commands(app):
    return ConfigurationCommands(app, Keyring.generate())


def test_the_first_change_names_each_key_with_its_old_and_new_value():
    configuration = SystemConfiguration.configure({"read_only": True, "token_expiration": 30}, ADMIN)
    (event,) = configuration.collect_events()
    assert event.changes == [{"key": "read_only", "old": False, "new": True}]  # 30 is the default
    assert configuration.value("read_only") is True and configuration.value("token_expiration") == 30


def test_values_equal_to_the_defaults_record_nothing():
    assert SystemConfiguration.configure(dict(DEFAULTS, ldap_search_password=""), ADMIN) is None


def test_a_later_change_records_only_what_differs(app, commands):
    commands.change(ChangeConfiguration({"banner_message": "hi", "read_only": True}, ADMIN))
    outcome = commands.change(ChangeConfiguration({"banner_message": "hi", "read_only": False}, ADMIN))
    configuration = app.find(CONFIGURATION_ID, SystemConfiguration)
    assert outcome.position is not None and configuration.version == 2
    assert configuration.values == {"banner_message": "hi", "read_only": False}
    assert commands.change(ChangeConfiguration({"read_only": False}, ADMIN)).position is None


def test_secrets_are_sealed_in_the_event_and_the_same_secret_again_is_no_change(app, commands):
    commands.change(ChangeConfiguration({"uaa_client_secret": "hush"}, ADMIN))
    configuration = app.find(CONFIGURATION_ID, SystemConfiguration)
    sealed = configuration.value("uaa_client_secret")
    assert sealed.startswith("sealed:v1:") and "hush" not in sealed
    assert commands.secrets.open(sealed, "system configuration uaa_client_secret") == "hush"
    assert commands.change(ChangeConfiguration({"uaa_client_secret": "hush"}, ADMIN)).position is None
    assert commands.change(ChangeConfiguration({"uaa_client_secret": "new"}, ADMIN)).position is not None


@pytest.mark.parametrize("values, key", [
    ({"read_only": 1}, "read_only"), ({"token_expiration": "30"}, "token_expiration"),
    ({"storage_per_project": -5}, "storage_per_project"), ({"auth_mode": "uaa_auth"}, "auth_mode"),
    ({"mystery": True}, "mystery"), ({"robot_name_prefix": "robot"}, "robot_name_prefix"),
    ({"robot_name_prefix": "ro$bot"}, "robot_name_prefix"), ({"session_timeout": 0}, "session_timeout"),
])
def test_a_wrong_type_unknown_key_or_out_of_range_value_is_refused_naming_the_key(app, commands, values, key):
    with pytest.raises(BadRequest) as refused:
        commands.change(ChangeConfiguration({"banner_message": "x", **values}, ADMIN))
    assert refused.value.detail == {"field": key}
    assert app.find(CONFIGURATION_ID, SystemConfiguration) is None


def test_null_means_not_given_and_good_values_pass():
    assert check_values({"read_only": None, "robot_name_prefix": "ci$", "storage_per_project": 0,
                         "audit_log_forward_endpoint": "syslog.example:514"}) == {
        "robot_name_prefix": "ci$", "storage_per_project": 0,
        "audit_log_forward_endpoint": "syslog.example:514"}
