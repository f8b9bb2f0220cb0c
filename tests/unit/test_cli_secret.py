"""A user's CLI secret (Harbor's, for OIDC users): the event records that it was set, never
the secret; only under OIDC sign-in and for a user onboarded through it."""

import pytest

from commands.application import RegistryApplication
from commands.iam.handlers import IamCommands
from commands.iam.messages import CreateUser, DeleteUser, SetCliSecret
from domain.base import Actor
from domain.errors import BadRequest, Conflict, PreconditionFailed
from domain.iam.user import DB_AUTH, OIDC_AUTH, User, cli_secret_principal, user_id

ADMIN = Actor(name="admin", client_ip="10.0.0.1", request_id="r1")
SECRET = "Cli-Secret-9x"


class FakeCredentials:
    """Hashes by principal (the real store keeps argon2 hashes; these tests look at keys)."""

    def __init__(self) -> None:
        self.stored: dict[str, str] = {}

    def set(self, principal: str, secret: str) -> None:
        self.stored[principal] = f"hashed:{len(secret)}"

    def verify(self, principal: str, secret: str) -> bool:
        return principal in self.stored

    def delete(self, principal: str) -> None:
        self.stored.pop(principal, None)


@pytest.fixture
def app():
    return RegistryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def onboarded(user: User, subject: str = "sub-1") -> User:
    # The identity issue records OIDC onboarding as an event; until then, state stands in.
    user._oidc_subject = subject
    return user


def test_setting_a_cli_secret_records_the_fact_and_never_the_secret():
    user = onboarded(User.create("olga", "o@example.com", "", "", False, ADMIN))
    user.set_cli_secret(OIDC_AUTH, ADMIN)
    event = user.collect_events()[-1]
    assert isinstance(event, User.CliSecretSet) and event.username == "olga"
    assert SECRET not in repr(event.__dict__) and "secret" not in {k.lower() for k in event.__dict__}


def test_a_cli_secret_needs_oidc_sign_in_and_an_oidc_user():
    user = User.create("dan", "d@example.com", "", "", False, ADMIN)
    with pytest.raises(PreconditionFailed, match="auth mode"):
        onboarded(User.create("x", "", "", "", False, ADMIN)).set_cli_secret(DB_AUTH, ADMIN)
    with pytest.raises(PreconditionFailed, match="not onboarded"):
        user.set_cli_secret(OIDC_AUTH, ADMIN)
    user.delete(ADMIN)
    with pytest.raises(Conflict):
        onboarded(user).set_cli_secret(OIDC_AUTH, ADMIN)


def test_the_handler_saves_the_event_and_keeps_only_a_hash_apart(app):
    credentials = FakeCredentials()
    iam = IamCommands(app, credentials)
    iam.create_user(CreateUser("olga", "o@example.com", "", "", "Olga-Passw0rd", False, ADMIN))
    with pytest.raises(PreconditionFailed):
        iam.set_cli_secret(SetCliSecret("olga", SECRET, DB_AUTH, ADMIN))
    assert cli_secret_principal("olga") not in credentials.stored
    user = onboarded(app.repository.get(user_id("olga")))
    iam._user = lambda username: user  # the stand-in state is not in the log: hand it over
    with pytest.raises(BadRequest, match="secret"):
        iam.set_cli_secret(SetCliSecret("olga", "weak", OIDC_AUTH, ADMIN))
    assert iam.set_cli_secret(SetCliSecret("olga", SECRET, OIDC_AUTH, ADMIN)).position is not None
    stored = app.repository.get(user_id("olga"))
    assert stored.version == 2  # Created, CliSecretSet
    assert credentials.stored[cli_secret_principal("olga")] != SECRET
    iam.delete_user(DeleteUser("olga", ADMIN))
    assert cli_secret_principal("olga") not in credentials.stored
