"""OIDC identity in the domain and the group rules (ADR 0043), in memory."""

import pytest

from domain.base import Actor
from domain.errors import Conflict
from domain.iam.user import OIDC_AUTH, User
from infra.auth.oidc_users import groups_of

ADMIN = Actor(name="admin")
CONFIG = {"oidc_groups_claim": "groups", "oidc_admin_group": "ops", "oidc_group_filter": ""}


def test_a_linked_user_may_have_a_cli_secret_and_is_linked_once():
    user = User.create("olga", "", "", "", False, ADMIN)
    user.link_oidc("https://idp", "sub-1", ADMIN)
    user.set_cli_secret(OIDC_AUTH, ADMIN)  # no 412 once onboarded through OIDC
    assert user.oidc_subject == "sub-1" and user.oidc_issuer == "https://idp"
    with pytest.raises(Conflict):
        user.link_oidc("https://idp", "sub-2", ADMIN)


def test_the_admin_group_is_recorded_only_when_it_changes():
    user = User.create("olga", "", "", "", False, ADMIN)
    user.set_admin_by_group(False, ADMIN)
    user.set_admin_by_group(True, ADMIN)
    user.set_admin_by_group(True, ADMIN)
    assert [type(e).__name__ for e in user.collect_events()] == ["Created", "AdminGroupChanged"]


@pytest.mark.parametrize("claims, config, expected", [
    ({"groups": ["ops", "dev"]}, CONFIG, (["ops", "dev"], True)),
    ({"groups": "ops"}, CONFIG, (["ops"], True)),
    ({"groups": ["dev", 7, ""]}, CONFIG, (["dev"], False)),
    ({"groups": ["team-a", "ops"]}, {**CONFIG, "oidc_group_filter": "^team-"}, (["team-a"], False)),
    ({"groups": ["ops"]}, {**CONFIG, "oidc_groups_claim": ""}, ([], False)),
    ({"groups": ["ops"]}, {**CONFIG, "oidc_admin_group": ""}, (["ops"], False)),
])
def test_groups_come_from_the_claim_after_the_filter(claims, config, expected):
    assert groups_of(claims, config) == expected
